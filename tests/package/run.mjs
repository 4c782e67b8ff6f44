// Opens each packaging page in each engine (tests/browser/engines.mjs: Chromium, Firefox ESR,
// WebKitGTK; one WebDriver session per engine) as a partner app would (#at=… in the URL) and checks
// what the page reported (app.js: window.__h5result).
// Usage: node run.mjs GATEWAY_URL "LABEL=PAGE_URL"...   Prints "package-test ENGINE: N passed, M failed".
import { launch, selectedEngines, waitFor } from "../browser/engines.mjs";

const [gateway, ...pages] = process.argv.slice(2);
if (!gateway || pages.length === 0) throw new Error('usage: node run.mjs GATEWAY_URL "LABEL=PAGE_URL"...');

async function mint() {
  const r = await fetch(gateway + "/test/access-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ subject: "u-1", products: ["wealth-01"], ttl_seconds: 300 }),
  });
  if (!r.ok) throw new Error(`mint failed: ${r.status}`);
  return (await r.json()).access_token;
}

// tests/mock-gateway/products.json: wealth-01's title; its quote at 320 bps is
// floor(100000 × 320 × 12 / 120000) = 3200 (keys sorted, as app.js reports them).
const quote = { product: "wealth-01", amount_cents: 100000, months: 12, rate_bps: 320, interest_cents: 3200, total_cents: 103200 };
const expect = { ok: true, title: "Steady Growth Fund", quote: JSON.stringify(quote, Object.keys(quote).sort()), closedCode: "SESSION_CLOSED", clientIsH5Client: true, urlHasAt: false };

const summary = [];
let bad = false;
for (const engine of selectedEngines()) {
  let passed = 0;
  let failed = 0;
  let b;
  try {
    b = await launch(engine, { label: "package-test" });
    console.log(`--- packaging test in ${engine}: ${b.version} ---`);
    for (const spec of pages) {
      const [label, pageUrl] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
      const at = await mint();
      const sep = pageUrl.includes("?") ? "&" : "?";
      await b.driver.get(`${pageUrl}${sep}gw=${encodeURIComponent(gateway)}#at=${encodeURIComponent(at)}`);
      let r;
      try {
        r = await waitFor(b.driver, () => window.__h5result, [], `${label} to report`);
      } catch (e) {
        r = { ok: false, message: e.message };
      }
      const wrong = Object.entries(expect).filter(([k, v]) => r[k] !== v);
      if (wrong.length === 0) {
        passed++;
        console.log(`${label} (${engine}): ok (exchange + call: ${JSON.stringify(r)})`);
      } else {
        failed++;
        for (const [k, v] of wrong) console.log(`${label} (${engine}): FAILED ${k} = ${JSON.stringify(r[k])}, expected ${JSON.stringify(v)} (${JSON.stringify(r)})`);
      }
    }
  } catch (e) {
    failed++;
    console.log(`FAILED in ${engine}: ${e.message}`);
  } finally {
    await b?.quit();
  }
  if (failed > 0 || passed === 0) bad = true;
  summary.push(`package-test ${engine}: ${passed} passed, ${failed} failed`);
}
for (const line of summary) console.log(line);
process.exit(bad ? 1 : 0);
