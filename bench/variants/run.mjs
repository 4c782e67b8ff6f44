// Times the wasm client cores built by bench/variants/build.sh against hpke-js in headless
// Chromium: per run a fresh page, `rounds` rounds of `perRound` exchanges per side, the order of
// the sides rotating each round; prints per run and variant the median µs and the ratio to
// hpke-js's median of the same run, then the median ratio over runs.
// Usage: node bench/variants/run.mjs NAME... [--runs 3] [--rounds 20] [--per-round 50]
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, extname, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const www = join(here, "../../target/variants/www");
const names = [], opts = { runs: 3, rounds: 20, "per-round": 50, warmup: 200 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a.startsWith("--")) opts[a.slice(2)] = Number(process.argv[++i]);
  else names.push(a);
}
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  const file = path === "/page.html" ? join(here, "page.html") : join(www, path);
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store",
      "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" });
    res.end(body);
  } catch { res.writeHead(404); res.end(); }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ratios = Object.fromEntries(names.map((n) => [n, []]));
try {
  for (let run = 0; run < opts.runs; run++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/page.html`);
    await page.waitForFunction(() => window.ready === true);
    const r = await page.evaluate((o) => window.run(o), { names, rounds: opts.rounds, perRound: opts["per-round"], warmup: opts.warmup });
    await ctx.close();
    const line = names.map((n) => { ratios[n].push(r[n] / r.hpkejs); return `${n} ${Math.round(r[n] * 1000)} µs (${(r[n] / r.hpkejs).toFixed(3)})`; });
    console.log(`run ${run + 1}: hpke-js ${Math.round(r.hpkejs * 1000)} µs; ${line.join("; ")}`);
  }
  console.log(JSON.stringify({ median_ratio: Object.fromEntries(names.map((n) => [n, Number(median(ratios[n]).toFixed(3))])), ratios }));
} finally {
  await browser.close();
  server.close();
}
