// The access cycle as a user feels it (issue 11): cold tap on a product in the demo partner app
// until the product's title is shown on the H5 page, in Chromium at 375×812 with DevTools network
// emulation (150 ms added latency, 1.6 Mbps down, 750 kbps up), each sample in a fresh browser
// context (empty cache), next to a lower bound measured in the same run, interleaved.
//
// The lower bound is the same page shape without the SDK: the same partner page and launch
// request, an H5 document of the same size (target/demo/h5/index.html with app.js swapped for
// bench/cycle/bound.js, which carries app.js's text as a comment so it weighs the same), the same
// preloads (the SDK's module and .wasm are downloaded, never run), then one POST of the
// exchange's size to /v1/exchange (the gateway refuses it with a problem document, a few hundred
// bytes smaller than a real answer), then the title. Both are served by the release mock gateway
// (compression and caching headers as for the demo), one instance each.
//
// Usage: node bench/cycle/run.mjs --gateway-bin target/release/h5-mock-gateway --demo target/demo
//          [--runs 7] [--out target/bench/cycle-www]
// Prints one JSON object: per kind the samples (ms), median, min, max; the ratio of the medians.
import { spawn } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const BIN = args["gateway-bin"] ?? "target/release/h5-mock-gateway";
const DEMO = args.demo ?? "target/demo";
const RUNS = Number(args.runs ?? 7);
const BOUND_DIR = args.out ?? "target/bench/cycle-www";
const PRODUCT = "wealth-01";
const TITLE = "Steady Growth Fund";
const PROFILE = { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8), uploadThroughput: (750e3 / 8) };
const VIEWPORT = { width: 375, height: 812 };

// The lower bound's files: the demo with its H5 page's app.js replaced.
rmSync(BOUND_DIR, { recursive: true, force: true });
cpSync(DEMO, BOUND_DIR, { recursive: true });
const appJs = readFileSync(join(DEMO, "h5", "app.js"), "utf8");
const boundJs = readFileSync(join(here, "bound.js"), "utf8").replace("/*APP_JS*/", () => `/*\n${appJs.replaceAll("*/", "* /")}\n*/`);
writeFileSync(join(BOUND_DIR, "h5", "bound.js"), boundJs);
const page = readFileSync(join(DEMO, "h5", "index.html"), "utf8");
writeFileSync(join(BOUND_DIR, "h5", "index.html"), page.replaceAll('"app.js"', '"bound.js"'));

/** Starts the mock gateway serving `dir`; resolves to its URL and process. */
function gateway(dir) {
  const proc = spawn(BIN, ["--listen", "127.0.0.1:0", "--serve", dir], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" } });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).on("line", (line) => {
      const m = /^h5-mock-gateway listening on (\S+)/.exec(line);
      if (m) resolve({ url: m[1], proc });
    });
    proc.on("exit", (c) => reject(new Error(`mock gateway exited ${c}`)));
  });
}
const demo = await gateway(DEMO);
const bound = await gateway(BOUND_DIR);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// In every document: when #title first shows the product's title, the next frame's time
// (epoch ms, the page's clock) goes to window.__titleAt.
const TITLE_PROBE = `(() => {
  const want = ${JSON.stringify(TITLE)};
  const seen = () => { const t = document.getElementById("title"); return t && t.textContent.trim() === want; };
  const obs = new MutationObserver(() => {
    if (window.__titleAt === undefined && seen()) {
      obs.disconnect();
      requestAnimationFrame(() => { window.__titleAt = performance.timeOrigin + performance.now(); });
    }
  });
  obs.observe(document, { subtree: true, childList: true, characterData: true });
})();`;

/** One cold sample of `base`: ms from the tap to the title, and what went over the wire. */
async function sample(base, exchangeLen) {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  try {
    await context.addInitScript(TITLE_PROBE);
    if (exchangeLen) await context.addInitScript(`window.__exchangeLen = ${exchangeLen};`);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", PROFILE);
    let sent = 0;
    let requests = 0;
    let exchangeBody = 0;
    await page.goto(`${base}/partner/`, { waitUntil: "load" });
    page.on("request", (r) => {
      requests++;
      if (new URL(r.url()).pathname === "/v1/exchange") exchangeBody = r.postDataBuffer()?.length ?? 0;
    });
    const t0 = await page.evaluate((p) => {
      const t = performance.timeOrigin + performance.now();
      document.querySelector(`button[data-product="${p}"]`).click();
      return t;
    }, PRODUCT);
    await page.waitForURL(/\/h5\//, { timeout: 60000 });
    await page.waitForFunction(() => window.__titleAt !== undefined, null, { timeout: 60000, polling: 50 });
    const t1 = await page.evaluate(() => window.__titleAt);
    const transferred = await page.evaluate(() => performance.getEntriesByType("resource").reduce((n, e) => n + (e.transferSize || 0), performance.getEntriesByType("navigation")[0]?.transferSize || 0));
    sent = transferred;
    return { ms: Math.round(t1 - t0), h5_requests: requests, h5_transfer_bytes: sent, exchange_body: exchangeBody };
  } finally {
    await context.close();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const out = { profile: { ...PROFILE, viewport: VIEWPORT, runs: RUNS }, demo: [], bound: [] };
try {
  // One warm-up of each (not counted: the gateways' first requests, the browser's first context).
  const warm = await sample(demo.url);
  await sample(bound.url, warm.exchange_body);
  for (let i = 0; i < RUNS; i++) {
    const d = await sample(demo.url);
    out.demo.push(d);
    out.bound.push(await sample(bound.url, d.exchange_body));
  }
} finally {
  await browser.close();
  demo.proc.kill();
  bound.proc.kill();
}
for (const k of ["demo", "bound"]) {
  const ms = out[k].map((s) => s.ms);
  out[`${k}_summary`] = { median_ms: median(ms), min_ms: Math.min(...ms), max_ms: Math.max(...ms), h5_requests: out[k][0].h5_requests, h5_transfer_bytes: out[k][0].h5_transfer_bytes };
}
out.ratio = Math.round((out.demo_summary.median_ms / out.bound_summary.median_ms) * 100) / 100;
console.log(JSON.stringify(out, null, 2));
