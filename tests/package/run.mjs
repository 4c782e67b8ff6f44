// Opens a page in Chromium (Playwright) as a partner app would (#at=… in the URL) and checks what
// the page reported. Usage: node run.mjs PAGE_URL GATEWAY_URL LABEL
import { chromium } from "playwright-core";

const [pageUrl, gateway, label] = process.argv.slice(2);
const mint = await fetch(gateway + "/test/access-token", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ subject: "u-1", products: ["wealth-01"], ttl_seconds: 300 }),
});
const { access_token: at } = await mint.json();

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--disable-gpu"],
});
let failed = false;
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  const sep = pageUrl.includes("?") ? "&" : "?";
  await page.goto(`${pageUrl}${sep}gw=${encodeURIComponent(gateway)}#at=${encodeURIComponent(at)}`);
  await page.waitForFunction(() => window.__h5result !== undefined, null, { timeout: 20000 });
  const r = await page.evaluate(() => window.__h5result);
  const expect = { ok: true, title: "Wealth Plus", amount: 100, closedCode: "SESSION_CLOSED", clientIsH5Client: true, urlHasAt: false };
  for (const [k, v] of Object.entries(expect)) {
    if (r[k] !== v) {
      failed = true;
      console.error(`${label}: ${k} = ${JSON.stringify(r[k])}, expected ${JSON.stringify(v)} (${JSON.stringify(r)}; ${problems.join(" | ")})`);
    }
  }
  if (!failed) console.log(`${label}: ok (exchange + call in Chromium: ${JSON.stringify(r)})`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
