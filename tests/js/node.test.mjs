// The package's JavaScript half under Node.js (`node --test tests/js/`), against the built
// pkg/ with `fetch` replaced by a scripted gateway: answer classification, key configuration
// input, timeouts, and the errors the page sees. The real gateway flow is tests/browser/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as H5 from "../../pkg/index.js";

await H5.init(readFileSync(new URL("../../pkg/h5_access_bg.wasm", import.meta.url)));
// A key configuration list the core accepts (RFC 9458 §3.2): key id 1, X25519 key 9 (basepoint).
const KEYS = new Uint8Array([0, 41, 1, 0, 0x20, 9, ...new Array(31).fill(0), 0, 4, 0, 1, 0, 3]);
const EX_RES = "application/vnd.h5-access.exchange-res";

/**
 * Replaces fetch: each request gets the next scripted answer; returns the requests seen. The SDK
 * calls `fetch(request)` (gloo-net builds a Request); a function answer gets that Request.
 */
function script(...answers) {
  const seen = [];
  globalThis.fetch = async (input, init) => {
    const req = new Request(input, init);
    seen.push({ url: req.url, method: req.method, headers: Object.fromEntries(req.headers) });
    const a = answers.shift();
    if (a === undefined) throw new TypeError("no more answers");
    if (typeof a === "function") return a(req);
    const headers = a.type ? { "content-type": a.type } : {};
    if (a.cache) headers["cache-control"] = a.cache;
    return new Response(a.body ?? null, { status: a.status ?? 200, headers });
  };
  return seen;
}
// As the gateway serves it: cached for 300 s.
const keysAnswer = { type: "application/ohttp-keys", body: KEYS, cache: "public, max-age=300" };
async function rejects(p, code) {
  const e = await p.then(() => assert.fail(`expected ${code}`), (err) => err);
  assert.ok(e instanceof H5.H5AccessError, String(e));
  assert.ok(e instanceof Error);
  assert.equal(e.name, "H5AccessError");
  assert.equal(e.code, code);
  return e;
}
const create = (extra = {}) => H5.H5Client.create({ gateway: "https://gw.test/", ...extra });

test("create fetches the keys once with the right request", async () => {
  const seen = script(keysAnswer);
  assert.ok((await create()) instanceof H5.H5Client);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].url, "https://gw.test/v1/keys");
  assert.equal(seen[0].method, "GET");
  assert.deepEqual(seen[0].headers, { accept: "application/ohttp-keys" });
  // Media type parameters and case are ignored.
  script({ type: " Application/OHTTP-Keys ; q=1", body: KEYS });
  await create();
});

test("HTML and empty error bodies are HTTP_STATUS with the status", async () => {
  for (const [status, type, body] of [
    [502, "text/html", "<html><body>Bad Gateway</body></html>"],
    [500, undefined, null],
    [404, "application/problem+json", "not json at all"],
    [503, "application/problem+json", "[1,2]"],
    [422, "text/html", "<html>"],
  ]) {
    script({ status, type, body });
    const e = await rejects(create(), "HTTP_STATUS");
    assert.equal(e.status, status);
    assert.equal(e.gatewayCode, undefined);
  }
});

test("a problem code is kept only if it looks like a code", async () => {
  script({ status: 400, type: "application/problem+json", body: '{"type":"about:blank","status":400,"code":"MALFORMED"}' });
  const e = await rejects(create(), "HTTP_STATUS");
  assert.equal(e.status, 400);
  assert.equal(e.gatewayCode, "MALFORMED");
  script({ status: 400, type: "application/problem+json", body: '{"code":"<script>alert(1)</script>"}' });
  assert.equal((await rejects(create(), "HTTP_STATUS")).gatewayCode, undefined);
});

test("a 200 of another media type is BAD_RESPONSE (captive portal)", async () => {
  script({ type: "text/html", body: "<html>" });
  await rejects(create(), "BAD_RESPONSE");
  script({ type: "application/ohttp-keys2", body: KEYS });
  await rejects(create(), "BAD_RESPONSE");
});

test("an invalid fetched key configuration is KEY_CONFIG", async () => {
  script({ type: "application/ohttp-keys", body: new Uint8Array([0, 9, 1]) });
  await rejects(create(), "KEY_CONFIG");
  script({ type: "application/ohttp-keys", body: new Uint8Array([]) });
  await rejects(create(), "KEY_CONFIG");
});

test("pinned key configuration: bytes, both base64 alphabets, padding optional", async () => {
  script();
  const b64 = Buffer.from(KEYS).toString("base64");
  await create({ keyConfig: KEYS });
  await create({ keyConfig: b64 });
  await create({ keyConfig: Buffer.from(KEYS).toString("base64url") });
  await create({ keyConfig: b64.replace(/=+$/, "") });
  await rejects(create({ keyConfig: "aG k" }), "KEY_CONFIG");
  await rejects(create({ keyConfig: "a" }), "KEY_CONFIG");
  await rejects(create({ keyConfig: "" }), "KEY_CONFIG");
  await rejects(create({ keyConfig: null }), "INVALID_ARGUMENT");
});

test("stale-key signal: one refresh and one retry, a second signal is KEY_CONFIG", async () => {
  const stale = { status: 422, type: "application/problem+json", body: JSON.stringify({ type: "https://iana.org/assignments/http-problem-types#ohttp-key", status: 422, code: "KEY_UNKNOWN" }) };
  const seen = script(stale, keysAnswer, stale);
  const client = await create({ keyConfig: KEYS });
  await rejects(client.exchange("AT.x", { product: "wealth-01" }), "KEY_CONFIG");
  assert.deepEqual(seen.map((r) => [r.method, r.url]), [
    ["POST", "https://gw.test/v1/exchange"],
    ["GET", "https://gw.test/v1/keys"],
    ["POST", "https://gw.test/v1/exchange"],
  ]);
  assert.equal(seen[0].headers["content-type"], "application/vnd.h5-access.exchange-req");
  assert.equal(seen[0].headers.accept, EX_RES);
  // Another status or problem type is not the signal: no retry.
  for (const a of [{ ...stale, status: 400 }, { ...stale, body: '{"type":"about:blank"}' }]) {
    const seen = script(a);
    const e = await rejects(client.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS");
    assert.equal(seen.length, 1);
    assert.equal(e.status, a.status);
  }
});

test("max-age: a fetched list is fetched again once, before sealing, when as old as its max-age from the loader's request", async () => {
  const realNow = Date.now;
  let now = 1_790_000_000_000;
  Date.now = () => now;
  try {
    const refused = { status: 503, type: "application/problem+json", body: '{"code":"INTERNAL"}' };
    const slowKeys = () => {
      now += 10_000; // the keys answer arrives 10 s after the loader sent the request
      return new Response(KEYS, { headers: { "content-type": "application/ohttp-keys", "cache-control": "public, max-age=300" } });
    };
    const seen = script(slowKeys, refused, keysAnswer, refused, refused);
    const client = await create();
    const sent = 1_790_000_000_000;
    const exchange = async (at) => {
      now = at;
      const e = await rejects(client.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS");
      assert.equal(e.status, 503);
    };
    const GET = ["GET", "https://gw.test/v1/keys"];
    const POST = ["POST", "https://gw.test/v1/exchange"];
    await exchange(sent + 299_999); // 299 s after the loader sent its request: fresh
    assert.deepEqual(seen.map((r) => [r.method, r.url]), [GET, POST]);
    await exchange(sent + 300_000); // 300 s: stale, fetched again once, then sealed
    assert.deepEqual(seen.map((r) => [r.method, r.url]), [GET, POST, GET, POST]);
    await exchange(sent + 599_999); // the new list counts from its own request
    assert.deepEqual(seen.map((r) => [r.method, r.url]), [GET, POST, GET, POST, POST]);
    // A failed refetch seals nothing: its error, retryable (the AT was not sent).
    const seen2 = script(refused);
    now = sent + 10_000_000;
    const e = await rejects(client.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS");
    assert.equal(e.retryable, true);
    assert.deepEqual(seen2.map((r) => [r.method, r.url]), [GET]);
    // A pinned keyConfig is never fetched again.
    const seen3 = script(refused);
    const pinned = await create({ keyConfig: KEYS });
    now += 1_000_000_000;
    await rejects(pinned.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS");
    assert.deepEqual(seen3.map((r) => [r.method, r.url]), [POST]);
  } finally {
    Date.now = realNow;
  }
});

test("an exchange answer that does not open is DECRYPT_FAILED or BAD_RESPONSE, never retried", async () => {
  const client = await create({ keyConfig: KEYS });
  let seen = script({ type: EX_RES, body: new Uint8Array(64) });
  await rejects(client.exchange("AT.x", { product: "wealth-01" }), "DECRYPT_FAILED");
  assert.equal(seen.length, 1);
  seen = script({ type: EX_RES, body: new Uint8Array(10) });
  await rejects(client.exchange("AT.x", { product: "wealth-01" }), "BAD_RESPONSE");
  assert.equal(seen.length, 1);
});

test("fetch failures are NETWORK, whatever they reject with; no answer in time is TIMEOUT", async () => {
  const client = await create({ keyConfig: KEYS, timeoutMs: 100 });
  for (const thrown of [undefined, null, "boom", 42, {}, new Error("plain"), new TypeError("Failed to fetch"), new H5.H5AccessError({ code: "AT_USED", message: "x" })]) {
    globalThis.fetch = async () => {
      throw thrown;
    };
    await rejects(client.exchange("AT.x", { product: "wealth-01" }), "NETWORK");
  }
  // A gateway that never answers (and ignores the abort signal).
  globalThis.fetch = () => new Promise(() => {});
  const start = Date.now();
  await rejects(client.exchange("AT.x", { product: "wealth-01" }), "TIMEOUT");
  assert.ok(Date.now() - start < 1000);
  // Headers in time, body too slow: the timeout covers the body.
  globalThis.fetch = async (req) =>
    new Response(new ReadableStream({ start(c) { req.signal.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError"))); } }), { headers: { "content-type": EX_RES } });
  await rejects(client.exchange("AT.x", { product: "wealth-01" }), "TIMEOUT");
});

test("H5AccessError is made of the wasm's fields, message included (src/sdk ErrorFields)", async () => {
  const e = new H5.H5AccessError({ code: "HTTP_STATUS", message: "m", status: 503, gatewayCode: "INTERNAL", argument: undefined, retryable: true, reason: undefined });
  assert.deepEqual([e.name, e.code, e.message, e.status, e.gatewayCode, e.argument, e.retryable, e.reason], ["H5AccessError", "HTTP_STATUS", "m", 503, "INTERNAL", undefined, true, undefined]);
  assert.ok(e instanceof Error);
  // The wasm's own rejections: every field and the message as src/client/error.rs has them.
  const client = await create({ keyConfig: KEYS });
  globalThis.fetch = async () => new Response(JSON.stringify({ type: "about:blank", code: "INTERNAL" }), { status: 503, headers: { "content-type": "application/problem+json" } });
  const r = await rejects(client.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS");
  assert.deepEqual([r.message, r.status, r.gatewayCode, r.argument, r.retryable, r.reason], ["the gateway answered with an HTTP error status", 503, "INTERNAL", undefined, true, undefined]);
  const k = await rejects(create({ keyConfig: "!!" }), "KEY_CONFIG");
  assert.deepEqual([k.message, k.status, k.gatewayCode, k.argument, k.retryable], ["the gateway key configuration is missing, invalid or unsupported", undefined, undefined, undefined, false]);
  const i = await rejects(client.exchange("AT.x", {}), "INVALID_ARGUMENT");
  assert.deepEqual([i.message, i.argument], ["invalid argument", "product"]);
  // A page's polluted Object.prototype supplies no field.
  Object.prototype.status = 999;
  Object.prototype.gatewayCode = "POLLUTED";
  Object.prototype.reason = "POLLUTED";
  Object.prototype.retryable = true;
  try {
    const p = await rejects(create({ keyConfig: "!!" }), "KEY_CONFIG");
    assert.deepEqual([p.status, p.gatewayCode, p.reason, p.retryable], [undefined, undefined, undefined, false]);
  } finally {
    delete Object.prototype.status;
    delete Object.prototype.gatewayCode;
    delete Object.prototype.reason;
    delete Object.prototype.retryable;
  }
  // A gateway code that does not look like one is not passed on (src/client sanitize_code).
  globalThis.fetch = async () => new Response(JSON.stringify({ type: "about:blank", code: "<b>x</b>" }), { status: 500, headers: { "content-type": "application/problem+json" } });
  assert.equal((await rejects(client.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS")).gatewayCode, undefined);
});

test("takeAccessToken without a location is AT_MISSING", () => {
  assert.throws(() => H5.takeAccessToken(), (e) => e instanceof H5.H5AccessError && e.code === "AT_MISSING");
});

test("answers over the protocol's maximum are refused: declared or streamed", async () => {
  const client = await create({ keyConfig: KEYS });
  const ex = () => client.exchange("AT.x", { product: "wealth-01" });
  /** A body of `chunks` chunks of `size` bytes, counting what was pulled. */
  const stream = (size, chunks = Infinity) => {
    const s = { pulled: 0, cancelled: false };
    s.body = new ReadableStream({
      pull(c) {
        if (s.pulled >= size * chunks) return c.close();
        s.pulled += size;
        c.enqueue(new Uint8Array(size).fill(0x61));
      },
      cancel() {
        s.cancelled = true;
      },
    });
    return s;
  };
  // Declared: a 50 MB Content-Length is refused before the body is read.
  let s = stream(65536);
  script(() => new Response(s.body, { headers: { "content-type": EX_RES, "content-length": String(50 << 20) } }));
  await rejects(ex(), "BAD_RESPONSE");
  assert.ok(s.pulled <= 65536, `pulled ${s.pulled}`);
  s = stream(65536);
  script(() => new Response(s.body, { status: 500, headers: { "content-type": "application/problem+json", "content-length": String(50 << 20) } }));
  let e = await rejects(ex(), "HTTP_STATUS");
  assert.equal(e.status, 500);
  assert.equal(e.gatewayCode, undefined);
  // Streamed without a Content-Length: cancelled once past the cap (526,400 bytes for a 200).
  s = stream(65536);
  script(() => new Response(s.body, { headers: { "content-type": EX_RES } }));
  await rejects(ex(), "BAD_RESPONSE");
  assert.equal(s.cancelled, true);
  assert.ok(s.pulled <= 526400 + 2 * 65536, `pulled ${s.pulled}`);
  // The exact limits: 526,400 bytes are read (and fail to open), one more is refused.
  script({ type: EX_RES, body: new Uint8Array(526400) });
  await rejects(ex(), "DECRYPT_FAILED");
  s = stream(526401, 1);
  script(() => new Response(s.body, { headers: { "content-type": EX_RES } }));
  await rejects(ex(), "BAD_RESPONSE");
  // Problem bodies: 16,384 bytes are read (the code kept), one more is not (the status alone).
  const problem = (n) => '{"code":"AT_USED","pad":"' + "x".repeat(n - 27) + '"}';
  assert.equal(problem(16384).length, 16384);
  script({ status: 400, type: "application/problem+json", body: problem(16384) });
  assert.equal((await rejects(ex(), "HTTP_STATUS")).gatewayCode, "AT_USED");
  script({ status: 400, type: "application/problem+json", body: problem(16385) });
  e = await rejects(ex(), "HTTP_STATUS");
  assert.equal(e.status, 400);
  assert.equal(e.gatewayCode, undefined);
  // A streamed 50 MB problem body is cancelled too.
  s = stream(65536);
  script(() => new Response(s.body, { status: 503, headers: { "content-type": "application/problem+json" } }));
  assert.equal((await rejects(ex(), "HTTP_STATUS")).status, 503);
  assert.equal(s.cancelled, true);
});

test("the gateway must be an http(s) URL without query, fragment or credentials; timeoutMs 0 < t <= 120000", async () => {
  script();
  for (const gateway of [undefined, "", "/", "gw.test", "not a url", "ftp://gw.test", "javascript:alert(1)", "data:,x", "https://gw.test#", "https://gw.test/#x", "https://gw.test/?", "https://gw.test/?q=1", "https://user:pw@gw.test", "https://user@gw.test", new URL("https://gw.test"), 42]) {
    await rejects(H5.H5Client.create({ gateway, keyConfig: KEYS }), "INVALID_ARGUMENT");
  }
  for (const timeoutMs of [0, -1, NaN, Infinity, -Infinity, 1e20, 120001, "5000", true, null, [5], 0n]) {
    await rejects(create({ keyConfig: KEYS, timeoutMs }), "INVALID_ARGUMENT");
  }
  for (const timeoutMs of [0.5, 1, 120000]) await create({ keyConfig: KEYS, timeoutMs });
  // Accepted forms: trailing slashes dropped, a base path kept, the URL normalised.
  for (const [gateway, url] of [
    ["https://gw.test///", "https://gw.test/v1/keys"],
    ["http://127.0.0.1:8787", "http://127.0.0.1:8787/v1/keys"],
    ["HTTPS://GW.test/base/", "https://gw.test/base/v1/keys"],
  ]) {
    const seen = script(keysAnswer);
    await H5.H5Client.create({ gateway });
    assert.equal(seen[0].url, url);
  }
});

test("problem fields are own properties only: a polluted Object.prototype is not read", async () => {
  const client = await create({ keyConfig: KEYS });
  try {
    Object.prototype.type = "https://iana.org/assignments/http-problem-types#ohttp-key";
    Object.prototype.code = "AT_USED";
    // Not the stale-key signal (no refresh, no retry), and no gateway code.
    for (const body of ["<html>", "{}", '{"__proto__":{"code":"X"}}']) {
      const seen = script({ status: 422, type: body === "<html>" ? "text/html" : "application/problem+json", body });
      const e = await rejects(client.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS");
      assert.equal(seen.length, 1);
      assert.equal(e.status, 422);
      assert.equal(e.gatewayCode, undefined);
    }
  } finally {
    delete Object.prototype.type;
    delete Object.prototype.code;
  }
});

test("an AT that is not 1..2048 printable ASCII is AT_REJECTED locally: no gatewayCode, no request", async () => {
  const client = await create({ keyConfig: KEYS });
  const seen = script();
  for (const at of ["AT.\n", "AT. x", "AT.é", "A".repeat(2049)]) {
    const e = await rejects(client.exchange(at, { product: "wealth-01" }), "AT_REJECTED");
    assert.equal(e.gatewayCode, undefined);
    assert.equal(e.status, undefined);
  }
  assert.equal(seen.length, 0);
});

test("exchange: a failing CSPRNG is UNSUPPORTED_BROWSER, nothing sent", async () => {
  const client = await create({ keyConfig: KEYS });
  const seen = script();
  Object.defineProperty(globalThis.crypto, "getRandomValues", {
    configurable: true,
    writable: true,
    value: () => {
      throw new Error("no entropy");
    },
  });
  try {
    await rejects(client.exchange("AT.x", { product: "wealth-01" }), "UNSUPPORTED_BROWSER");
  } finally {
    delete globalThis.crypto.getRandomValues;
  }
  assert.equal(typeof globalThis.crypto.getRandomValues, "function");
  assert.equal(seen.length, 0);
});

test("INVALID_ARGUMENT names the argument (a fixed name, never a value); other codes do not", async () => {
  script();
  const invalid = async (p, argument) => {
    const e = await rejects(p, "INVALID_ARGUMENT");
    assert.equal(e.argument, argument);
    assert.equal(e.message, "invalid argument");
    assert.equal(e.status, undefined);
    assert.equal(e.gatewayCode, undefined);
  };
  await invalid(H5.H5Client.create(null), "options");
  await invalid(H5.H5Client.create({ gateway: "ftp://gw.test" }), "gateway");
  await invalid(create({ keyConfig: KEYS, timeoutMs: 0 }), "timeoutMs");
  await invalid(create({ keyConfig: null }), "keyConfig");
  const client = await create({ keyConfig: KEYS });
  await invalid(client.exchange("AT.x", {}), "product");
  await invalid(client.exchange("AT.x", { product: "bad product!" }), "product");
  await invalid(client.exchange("AT.x", { product: "p".repeat(65) }), "product");
  assert.equal((await rejects(create({ keyConfig: "!!" }), "KEY_CONFIG")).argument, undefined);
});

test("what a page's fetch wrapper hands back is NETWORK, never an exception through the wasm", { timeout: 60000 }, async () => {
  const client = await create({ keyConfig: KEYS, timeoutMs: 2000 });
  const uncaught = [];
  const onError = (e) => uncaught.push(String(e));
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  try {
    const body = () => new Uint8Array(60);
    const cases = {
      // A logging wrapper that read the body and returns the same Response.
      "a body already read": async () => { const r = new Response(body(), { headers: { "content-type": EX_RES } }); await r.text(); return r; },
      "a locked body": async () => { const r = new Response(body(), { headers: { "content-type": EX_RES } }); r.body.getReader(); return r; },
      "a Proxy chunk": async () => new Response(new ReadableStream({ start(c) { c.enqueue(new Proxy(new Uint8Array(5), {})); c.close(); } }), { headers: { "content-type": EX_RES } }),
      "a string chunk": async () => new Response(new ReadableStream({ start(c) { c.enqueue("abc"); c.close(); } }), { headers: { "content-type": EX_RES } }),
      "a body whose getReader throws": async () => ({ status: 200, headers: new Headers({ "content-type": EX_RES }), body: Object.assign(new ReadableStream(), { getReader() { throw new Error("boom"); } }) }),
      "a reader whose read throws": async () => ({ status: 200, headers: new Headers({ "content-type": EX_RES }), body: Object.assign(new ReadableStream(), { getReader: () => ({ read() { throw new Error("boom"); } }) }) }),
      "a reader whose read returns no promise": async () => ({ status: 200, headers: new Headers({ "content-type": EX_RES }), body: Object.assign(new ReadableStream(), { getReader: () => ({ read: () => 42 }) }) }),
    };
    for (const [what, answer] of Object.entries(cases)) {
      globalThis.fetch = answer;
      const e = await client.exchange("AT.x", { product: "wealth-01" }).then(() => assert.fail(what), (err) => err);
      assert.ok(e instanceof H5.H5AccessError, `${what}: ${e}`);
      assert.equal(e.code, "NETWORK", what);
    }
    // Over the cap, the stream is cancelled; a cancel that rejects is no unhandled rejection.
    globalThis.fetch = async () => new Response(new ReadableStream({ pull(c) { c.enqueue(new Uint8Array(600000)); }, cancel() { throw new Error("cancel boom"); } }), { headers: { "content-type": EX_RES } });
    await rejects(client.exchange("AT.x", { product: "wealth-01" }), "BAD_RESPONSE");
    // Many of them leave the SDK whole (an exception through the wasm would leak its stack).
    globalThis.fetch = cases["a body already read"];
    for (let i = 0; i < 1500; i++) await rejects(client.exchange("AT.x", { product: "wealth-01" }), "NETWORK");
    globalThis.fetch = async () => new Response(null, { status: 503, headers: { "content-type": "application/problem+json" } });
    assert.equal((await rejects(client.exchange("AT.x", { product: "wealth-01" }), "HTTP_STATUS")).status, 503);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(uncaught, []);
  } finally {
    process.off("uncaughtException", onError);
    process.off("unhandledRejection", onError);
  }
});

test("options whose reading throws are INVALID_ARGUMENT naming the option, from the loader too", async () => {
  const argumentOf = async (p) => (await rejects(p, "INVALID_ARGUMENT")).argument;
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  assert.equal(await argumentOf(H5.H5Client.create(revoked.proxy)), "gateway");
  const throwing = (name) => ({ gateway: "https://gw.test/", keyConfig: KEYS, get [name]() { throw new Error("boom"); } });
  for (const name of ["gateway", "timeoutMs", "keyConfig"]) assert.equal(await argumentOf(H5.H5Client.create(throwing(name))), name);
  const client = await create({ keyConfig: KEYS });
  assert.equal(await argumentOf(client.exchange("AT.x", { get product() { throw new Error("boom"); } })), "product");
});

test("an accessor on Object.prototype does not reach an H5AccessError's own fields", () => {
  Object.defineProperty(Object.prototype, "gatewayCode", { get: () => "<img src=x>", set() {}, configurable: true });
  try {
    const e = new H5.H5AccessError({ code: "HTTP_STATUS", message: "m", status: 503 });
    assert.equal(e.gatewayCode, undefined);
    assert.ok(Object.prototype.hasOwnProperty.call(e, "gatewayCode"));
  } finally {
    delete Object.prototype.gatewayCode;
  }
});

test("a crypto.getRandomValues that returns its buffer untouched is UNSUPPORTED_BROWSER, nothing sent", async () => {
  const client = await create({ keyConfig: KEYS });
  const seen = script({ type: EX_RES, body: new Uint8Array(60) });
  const real = Object.getOwnPropertyDescriptor(globalThis.crypto, "getRandomValues");
  Object.defineProperty(globalThis.crypto, "getRandomValues", { value: (a) => a, configurable: true, writable: true });
  try {
    await rejects(client.exchange("AT.x", { product: "wealth-01" }), "UNSUPPORTED_BROWSER");
  } finally {
    if (real) Object.defineProperty(globalThis.crypto, "getRandomValues", real);
    else delete globalThis.crypto.getRandomValues;
  }
  assert.equal(seen.length, 0);
});
