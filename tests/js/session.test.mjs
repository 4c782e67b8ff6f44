// The package's JavaScript half under Node.js with a scripted gateway that really opens and seals
// (tests/js/gateway.mjs): whole sessions, hostile but well-sealed answers, a session closed while
// a call is in flight, and what the wasm's memory holds after close().
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as H5 from "../../pkg/index.js";
import * as G from "./gateway.mjs";

// The wasm instance's memory, caught as the SDK instantiates it (what any script on the page can
// reach too): the SDK does not expose it.
let memory;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (...args) => {
  const r = await instantiate.apply(WebAssembly, args);
  // Its one Memory export, whatever its (minified, scripts/minify-names.mjs) name.
  memory = Object.values((r.instance ?? r).exports).find((v) => v instanceof WebAssembly.Memory);
  return r;
};
await H5.init(readFileSync(new URL("../../pkg/h5_access_bg.wasm", import.meta.url)));
WebAssembly.instantiate = instantiate;
assert.ok(memory instanceof WebAssembly.Memory);

/** How many times `needle` occurs in the wasm's memory. */
function occurrences(needle) {
  const mem = Buffer.from(memory.buffer);
  let n = 0;
  for (let i = mem.indexOf(needle); i !== -1; i = mem.indexOf(needle, i + 1)) n++;
  return n;
}

const KEY = G.gatewayKey(1);
const R = (body, type, status = 200) => new Response(body, { status, headers: type ? { "content-type": type } : {} });
/**
 * Scripts fetch as a gateway: `exchange(opened)` and `call(opened)` return the plaintext to seal
 * (or a Response, or throw); every opened request is kept in `seen`.
 */
function gateway({ exchange = () => G.issued("VT.test-issued-token", '{"title":"T"}'), call = () => G.callOk('{"ok":true}') } = {}) {
  const seen = [];
  globalThis.fetch = async (input, init) => {
    const req = new Request(input, init); // the SDK calls fetch(request)
    const channel = req.url.endsWith("/v1/exchange") ? "exchange" : "call";
    const opened = G.open(KEY, channel, new Uint8Array(await req.arrayBuffer()));
    seen.push(opened);
    const answer = await (channel === "exchange" ? exchange : call)(opened);
    return answer instanceof Response ? answer : R(G.seal(opened, answer), G.MEDIA[channel]);
  };
  return seen;
}
async function rejects(p, code) {
  const e = await p.then(() => assert.fail(`expected ${code}`), (err) => err);
  assert.ok(e instanceof H5.H5AccessError, String(e));
  assert.equal(e.code, code);
  return e;
}
const client = () => H5.H5Client.create({ gateway: "https://gw.test", keyConfig: KEY.keys });

test("a whole session against the scripted gateway", async () => {
  const seen = gateway({ call: (o) => G.callOk(o.plaintext.includes("quote") ? '{"q":1}' : "0") });
  const s = await (await client()).exchange("AT.round-trip", { product: "wealth-01" });
  assert.deepEqual(G.exchangeRequest(seen[0].plaintext), { product: "wealth-01", at: "AT.round-trip" });
  assert.deepEqual(s.page, { title: "T" });
  assert.deepEqual(await s.call("quote", {}), { q: 1 });
  s.close();
});

test("after close() the wasm memory holds no secret of the session, nor the VT or the AT", async () => {
  const AT = "AT.memory-scan-0123456789abcdef";
  const VT = "VT.memory-scan-fedcba9876543210";
  const seen = gateway({ exchange: () => G.issued(VT, '{"title":"T"}'), call: () => G.callOk("{}") });
  const s = await (await client()).exchange(AT, { product: "wealth-01" });
  await s.call("echo", {});
  const session = seen[0].sessionSecret;
  assert.equal(occurrences(session), 1, "the session secret is in wasm memory while the session is open");
  s.close();
  const left = {};
  seen.forEach((o, i) => {
    for (const [name, bytes] of Object.entries({ ...o.secrets, sessionSecret: o.sessionSecret })) {
      const n = occurrences(bytes);
      if (n) left[`${i}.${name}`] = n;
    }
  });
  left.at = occurrences(Buffer.from(AT));
  left.vt = occurrences(Buffer.from(VT));
  assert.deepEqual(left, { at: 0, vt: 0 });
});

test("a call closed in flight rejects with SESSION_CLOSED whatever the gateway then does", async () => {
  const c = await client();
  const stale = JSON.stringify({ type: "https://iana.org/assignments/http-problem-types#ohttp-key", code: "KEY_UNKNOWN" });
  for (const [what, answer] of [
    ["a sealed answer", () => G.callOk("{}")],
    ["a 500", () => R('{"code":"INTERNAL"}', "application/problem+json", 500)],
    ["a stale-key 422", () => R(stale, "application/problem+json", 422)],
    ["a 200 of another type", () => R("<html>", "text/html")],
    ["a network failure", () => Promise.reject(new TypeError("Failed to fetch"))],
    ["a garbled answer", () => R(new Uint8Array(64), G.MEDIA.call)],
  ]) {
    let release;
    const held = new Promise((r) => (release = r));
    gateway({ call: async () => (await held, answer()) });
    const s = await c.exchange("AT.in-flight", { product: "wealth-01" });
    const p = s.call("echo", {});
    await new Promise((r) => setTimeout(r, 10)); // the call is at the gateway
    s.close();
    release();
    const e = await rejects(p, "SESSION_CLOSED");
    assert.equal(e.status, undefined, what);
  }
});

test("a VT exp of 0 or after 9999-12-31T23:59:59Z is BAD_RESPONSE", async () => {
  const c = await client();
  for (const exp of [0, 253402300800, 2n ** 64n - 1n]) {
    gateway({ exchange: () => G.issued("VT.x", "{}", exp) });
    await rejects(c.exchange("AT.exp", { product: "wealth-01" }), "BAD_RESPONSE");
  }
  gateway({ exchange: () => G.issued("VT.x", "{}", 253402300799) });
  const s = await c.exchange("AT.exp", { product: "wealth-01" });
  assert.equal(s.expiresAt, 253402300799000);
  assert.equal(new Date(s.expiresAt).toISOString(), "9999-12-31T23:59:59.000Z");
  s.close();
});
