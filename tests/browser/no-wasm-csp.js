// Run by tests/browser/run.mjs in a page whose CSP lacks 'wasm-unsafe-eval' (no-wasm-csp.html):
// loading must fail with LOAD_FAILED (a deployment problem), not UNSUPPORTED_BROWSER, after one
// download of the .wasm. Results go to window.__results, as in suite.js.
import * as H5 from "../../pkg/index.js";

let error;
try {
  await H5.H5Client.create({ gateway: "https://gw.invalid" });
} catch (e) {
  error = e;
}
const wasmFetches = performance.getEntriesByType("resource").filter((r) => r.name.endsWith("/h5_access_bg.wasm")).length;
const checks = [
  ["an H5AccessError", error instanceof H5.H5AccessError],
  [`code LOAD_FAILED (got ${error && error.code})`, error && error.code === "LOAD_FAILED"],
  [`reason CSP (got ${error && error.reason})`, error && error.reason === "CSP"],
  [`not retryable (got ${error && error.retryable})`, error && error.retryable === false],
  [`the .wasm fetched once (got ${wasmFetches})`, wasmFetches === 1],
];
const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
window.__results = [{ name: "csp_without_wasm_unsafe_eval_is_load_failed", ok: failed.length === 0, error: failed.join("; ") }];
