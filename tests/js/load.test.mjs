// Loading the wasm under Node.js with a scripted fetch: each test imports its own instance of
// the package (a query on the module URL), so each starts unloaded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const WASM = readFileSync(new URL("../../pkg/h5_access_bg.wasm", import.meta.url));
let fresh = 0;
const sdk = () => import(`../../pkg/index.js?load=${++fresh}`);
/** Serves every URL with `answer` (status, type, body); returns the URLs fetched. */
function serve(status, type, body) {
  const seen = [];
  globalThis.fetch = async (url) => {
    seen.push(String(url));
    return new Response(body, { status, headers: { "content-type": type } });
  };
  return seen;
}
async function rejects(H5, p, code) {
  const e = await p.then(() => assert.fail(`expected ${code}`), (err) => err);
  assert.ok(e instanceof H5.H5AccessError, String(e));
  assert.equal(e.code, code);
  return e;
}

test("a .wasm URL answering 404 is LOAD_FAILED reason HTTP_STATUS (not the gateway's), fetched once", async () => {
  const H5 = await sdk();
  const seen = serve(404, "text/html", "<h1>not found</h1>");
  const e = await rejects(H5, H5.init("https://cdn.test/h5_access_bg.wasm"), "LOAD_FAILED");
  assert.equal(e.reason, "HTTP_STATUS");
  assert.equal(e.retryable, true);
  assert.equal(e.status, 404);
  assert.deepEqual(seen, ["https://cdn.test/h5_access_bg.wasm"]);
});

test("an HTML page served for the .wasm is LOAD_FAILED, fetched once; a later load works", async () => {
  const H5 = await sdk();
  let seen = serve(200, "text/html", "<!doctype html><h1>SPA</h1>");
  assert.equal((await rejects(H5, H5.init("https://cdn.test/h5_access_bg.wasm"), "LOAD_FAILED")).reason, "COMPILE");
  assert.equal(seen.length, 1);
  // A failed load can be retried; served right, one fetch and no fallback download.
  seen = serve(200, "application/wasm", WASM);
  await H5.init("https://cdn.test/h5_access_bg.wasm");
  assert.equal(seen.length, 1);
});

test("bytes that are not WebAssembly are LOAD_FAILED; the .wasm as octet-stream still loads", async () => {
  const H5 = await sdk();
  await rejects(H5, H5.init(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 9])), "LOAD_FAILED");
  await rejects(H5, H5.init(new Uint8Array([60, 104, 116, 109, 108, 62])), "LOAD_FAILED");
  const seen = serve(200, "application/octet-stream", WASM);
  await H5.init("https://cdn.test/h5_access_bg.wasm");
  assert.equal(seen.length, 1);
});

test("an unreachable .wasm URL is LOAD_FAILED reason NETWORK", async () => {
  const H5 = await sdk();
  globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  const e = await rejects(H5, H5.init("https://cdn.test/h5_access_bg.wasm"), "LOAD_FAILED");
  assert.equal(e.reason, "NETWORK");
  assert.equal(e.status, undefined);
});

test("a .wasm download that never answers is LOAD_FAILED reason TIMEOUT at timeoutMs; it is aborted", async () => {
  const H5 = await sdk();
  let aborted = false;
  globalThis.fetch = (url, init) =>
    new Promise((_, reject) => {
      init.signal.addEventListener("abort", () => {
        aborted = true;
        reject(new DOMException("aborted", "AbortError"));
      });
    });
  const e = await rejects(H5, H5.init("https://cdn.test/h5_access_bg.wasm", { timeoutMs: 50 }), "LOAD_FAILED");
  assert.equal(e.reason, "TIMEOUT");
  assert.equal(aborted, true);
});
