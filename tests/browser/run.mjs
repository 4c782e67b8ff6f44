// Runs the package's browser suite (tests/browser/load.js: failures loading the .wasm, on a page
// that has not loaded it; suite.js; then the page whose CSP refuses WebAssembly) in each engine (tests/browser/engines.mjs: Chromium, Firefox ESR, WebKitGTK; one
// WebDriver session per engine) against the built package and the mock gateway.
// Usage: node tests/browser/run.mjs GATEWAY_URL   (from the repository root, after
// scripts/build-sdk.sh; H5_ENGINES narrows the engines). Serves the repository read-only with the
// README's CSP. Prints one line per test and per engine "browser-suite ENGINE: N passed, M failed".
import { spawn } from "node:child_process";
import { launch, selectedEngines, waitFor } from "./engines.mjs";

const gateway = process.argv[2];
if (!gateway) throw new Error("usage: node tests/browser/run.mjs GATEWAY_URL");
const engines = selectedEngines();
// connect-src also allows http://localhost:* : the same server under another origin, for the
// cross-origin .wasm without CORS headers (load.js).
const server = spawn(process.execPath, ["tests/package/serve.mjs", ".", gateway, "http://localhost:*"], { stdio: ["ignore", "pipe", "inherit"] });
process.on("exit", () => server.kill());
const base = await new Promise((resolve, reject) => {
  server.stdout.on("data", (d) => {
    const m = /^serving (\S+)/m.exec(String(d));
    if (m) resolve(m[1]);
  });
  server.on("exit", () => reject(new Error("static server exited")));
});

// The page of .wasm loading failures (first, before anything loaded the .wasm), the suite, then
// the page whose CSP refuses WebAssembly (each page reports window.__results).
const gw = encodeURIComponent(gateway);
const PAGES = [`load.html?gw=${gw}`, `index.html?gw=${gw}`, "no-wasm-csp.html"];
const summary = [];
let bad = false;
for (const engine of engines) {
  let passed = 0;
  let failed = 0;
  let b;
  try {
    b = await launch(engine, { label: "browser-suite" });
    console.log(`\n--- browser suite in ${engine}: ${b.version} ---`);
    for (const path of PAGES) {
      await b.driver.get(`${base}/tests/browser/${path}`);
      let results;
      try {
        results = await waitFor(b.driver, () => window.__results, [], `${path} to finish`);
      } catch (e) {
        const errors = await b.driver.executeScript("return window.__errors || []").catch(() => []);
        throw new Error(`${path} did not finish: ${e.message}; page errors: ${errors.join(" | ") || "none"}`);
      }
      for (const r of results) {
        if (r.ok) {
          passed++;
          console.log(`test ${r.name} ... ok${r.note ? ` (${r.note})` : ""}`);
        } else {
          failed++;
          console.log(`test ${r.name} ... FAILED\n    ${r.error}`);
        }
      }
    }
  } catch (e) {
    failed++;
    console.log(`FAILED in ${engine}: ${e.message}`);
  } finally {
    await b?.quit();
  }
  if (failed > 0 || passed === 0) bad = true;
  summary.push(`browser-suite ${engine}: ${passed} passed, ${failed} failed`);
}
console.log("");
for (const line of summary) console.log(line);
server.kill();
process.exit(bad ? 1 : 0);
