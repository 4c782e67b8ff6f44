// Runs tests/browser/suite.js in headless Chromium (Playwright) against the built package and
// the mock gateway. Usage: node tests/browser/run.mjs GATEWAY_URL   (from the repository root,
// after scripts/build-sdk.sh). Serves the repository read-only with the README's CSP.
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

const gateway = process.argv[2];
const server = spawn(process.execPath, ["tests/package/serve.mjs", ".", gateway], { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve, reject) => {
  server.stdout.on("data", (d) => {
    const m = /^serving (\S+)/m.exec(String(d));
    if (m) resolve(m[1]);
  });
  server.on("exit", () => reject(new Error("static server exited")));
});
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--disable-gpu"],
});
let failed = 0;
let count = 0;
try {
  // The suite, then the page whose CSP refuses WebAssembly (each page reports window.__results).
  for (const path of [`index.html?gw=${encodeURIComponent(gateway)}`, "no-wasm-csp.html"]) {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(`${base}/tests/browser/${path}`);
    await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 60000 }).catch(() => {
      console.error(`browser suite (${path}) did not finish: ` + problems.join(" | "));
      process.exit(1);
    });
    for (const r of await page.evaluate(() => window.__results)) {
      count++;
      if (r.ok) console.log(`test ${r.name} ... ok`);
      else {
        failed++;
        console.log(`test ${r.name} ... FAILED\n    ${r.error}`);
      }
    }
    await page.close();
  }
} finally {
  await browser.close();
  server.kill();
}
console.log(`browser suite: ${count - failed} passed; ${failed} failed`);
process.exit(failed || count === 0 ? 1 : 0);
