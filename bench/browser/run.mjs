// Headless Chromium, one browser, one run: (a) cold initialisation, (b) client CPU per
// exchange, SDK core (wasm) vs hpke-js, interleaved. Serves the files itself on 127.0.0.1:0
// with COOP/COEP (cross-origin isolated: 5 µs timer resolution) and Cache-Control: no-store.
//
// Usage: node bench/browser/run.mjs --www target/bench/www [--sdk-glue /sdk/index.js --sdk-fn init]
//          [--cold 15] [--rounds 40] [--per-round 50] [--warmup 200]
// /www/ holds wasm-client/, ref/ and (when the SDK is built) sdk/; prints one JSON object.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, extname, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const www = args.www ?? "target/bench/www";
const opt = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const COLD = opt("cold", 15), ROUNDS = opt("rounds", 40), PER_ROUND = opt("per-round", 50), WARMUP = opt("warmup", 200);

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  const file = path.startsWith("/bench/") ? join(here, path.slice(7)) : join(www, path);
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": "no-store",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cross-origin-resource-policy": "same-origin",
    });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
try {
  // (a) Cold initialisation: each sample in a fresh context; kinds interleaved.
  const kinds = [];
  if (args["sdk-glue"]) kinds.push(["sdk", `kind=wasm&glue=${encodeURIComponent(args["sdk-glue"])}&fn=${args["sdk-fn"] ?? "default"}`]);
  kinds.push(["wasm_client", `kind=wasm&glue=${encodeURIComponent("/wasm-client/h5_bench_wasm_client.js")}`]);
  kinds.push(["hpkejs_bundle", `kind=js&module=${encodeURIComponent("/ref/hpke-seal-export.min.js")}`]);
  const cold = Object.fromEntries(kinds.map(([k]) => [k, []]));
  for (let i = 0; i < COLD; i++) {
    for (const [k, q] of kinds) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${base}/bench/cold.html?${q}`);
      await page.waitForFunction(() => window.coldReady === true);
      cold[k].push(await page.evaluate(() => window.coldSample()));
      await ctx.close();
    }
  }
  // (b) Client CPU per exchange: one page, one run.
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${base}/bench/speed.html`);
  await page.waitForFunction(() => window.speedReady === true);
  const speed = await page.evaluate((o) => window.runSpeed(o), { rounds: ROUNDS, perRound: PER_ROUND, warmup: WARMUP });
  await ctx.close();
  console.log(JSON.stringify({
    chromium: browser.version(),
    cold_init_ms: Object.fromEntries(Object.entries(cold).map(([k, xs]) => {
      const init = xs.map((x) => x.init), total = xs.map((x) => x.total);
      return [k, { samples: xs.length, median: median(init), min: Math.min(...init), max: Math.max(...init), median_with_js_import: median(total) }];
    })),
    speed,
  }, null, 2));
} finally {
  await browser.close();
  server.close();
}
