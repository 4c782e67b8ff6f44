// Run by tests/browser/run.mjs in a fresh page (?gw=…), before anything loaded the SDK's .wasm:
// each way loading the .wasm can fail is LOAD_FAILED with its `reason`, never described as the
// gateway's; a failed load can be retried, and the last case loads it and opens a session.
// Results go to window.__results, as in suite.js.
import * as H5 from "../../pkg/index.js";

const GW = new URLSearchParams(location.search).get("gw");
const LOAD_FAILED_MESSAGE = "the SDK's WebAssembly could not be loaded or compiled";

function eq(actual, expected, what) {
  if (!Object.is(actual, expected)) throw new Error(`${what}: ${JSON.stringify(actual)} !== ${JSON.stringify(expected)}`);
}
/** `H5Client.create(options)` must reject with LOAD_FAILED of `reason`; returns the error. */
async function loadFails(options, reason, retryable) {
  let e;
  try {
    await H5.H5Client.create({ gateway: GW, ...options });
  } catch (err) {
    e = err;
  }
  eq(e instanceof H5.H5AccessError, true, `an H5AccessError (got ${e})`);
  eq(e.code, "LOAD_FAILED", "code");
  eq(e.reason, reason, "reason");
  eq(e.retryable, retryable, "retryable");
  eq(e.message, LOAD_FAILED_MESSAGE, "the message names the SDK's WebAssembly, not the gateway");
  eq(e.gatewayCode, undefined, "gatewayCode");
  return e;
}
/** Runs `body` with the global fetch replaced by `wrap(originalFetch)`. */
async function withFetch(wrap, body) {
  const original = globalThis.fetch;
  globalThis.fetch = wrap(original);
  try {
    return await body();
  } finally {
    globalThis.fetch = original;
  }
}

const tests = {
  async wasm_404_is_load_failed_http_status() {
    const e = await loadFails({ wasm: new URL("../../pkg/no-such.wasm", import.meta.url).href }, "HTTP_STATUS", true);
    eq(e.status, 404, "status");
  },

  // The same static server under another host name: another origin, which sends no CORS headers.
  async wasm_cross_origin_without_cors_is_load_failed_network() {
    const other = new URL("../../pkg/h5_access_bg.wasm", import.meta.url);
    other.hostname = "localhost";
    const e = await loadFails({ wasm: other.href }, "NETWORK", true);
    eq(e.status, undefined, "status");
  },

  // A .wasm whose answer stalls (the mock's /test/slow/ waits 3 s): rejected at timeoutMs.
  async stalled_wasm_times_out_at_timeout_ms() {
    const start = Date.now();
    await loadFails({ wasm: GW + "/test/slow/v1/keys", timeoutMs: 500 }, "TIMEOUT", true);
    const took = Date.now() - start;
    eq(took >= 450 && took < 2500, true, `rejected after ${took} ms, not after the server's 3 s`);
  },

  async not_webassembly_is_load_failed_compile() {
    await loadFails({ wasm: new URL("./index.html", import.meta.url).href }, "COMPILE", true);
  },

  // A page whose fetch wrapper hands back `new Proxy(response, {})` (every getter then throws).
  async bare_proxy_response_for_the_wasm_is_load_failed() {
    await withFetch(
      (f) => (...a) => f(...a).then((r) => new Proxy(r, {})),
      () => loadFails({}, "NETWORK", true),
    );
  },

  async after_failed_loads_the_sdk_loads_and_opens_a_session() {
    const mint = await fetch(GW + "/test/access-token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ subject: "u-1", products: ["wealth-01"], ttl_seconds: 300 }),
    });
    const at = (await mint.json()).access_token;
    const since = performance.now();
    const client = await H5.H5Client.create({ gateway: GW });
    const session = await client.exchange(at, { product: "wealth-01" });
    eq(session.page.title, "Steady Growth Fund", "title");
    session.close();
    const wasmUrl = new URL("../../pkg/h5_access_bg.wasm", import.meta.url).href;
    const entries = performance.getEntriesByType("resource");
    // Without a keyConfig, the keys request runs while the .wasm loads (not after it), once.
    const wasm = entries.filter((r) => r.name === wasmUrl && r.startTime >= since);
    const keys = entries.filter((r) => r.name === GW + "/v1/keys" && r.startTime >= since);
    eq(wasm.length, 1, "one .wasm request in this create");
    eq(keys.length, 1, "one keys request in this create");
    eq(keys[0].startTime <= wasm[0].responseStart, true, `keys request sent at ${keys[0].startTime}, before the .wasm's first byte at ${wasm[0].responseStart}`);
  },
};

const results = [];
for (const [name, test] of Object.entries(tests)) {
  try {
    const note = await test();
    results.push({ name, ok: true, note: typeof note === "string" ? note : undefined });
  } catch (e) {
    results.push({ name, ok: false, error: String(e && e.stack ? e.stack : e) });
  }
}
window.__results = results;
