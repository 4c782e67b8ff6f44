// The SDK's browser suite, run by tests/browser/run.mjs in each engine (Chromium, Firefox ESR,
// WebKitGTK) against the built package (pkg/index.js, as a page imports it) and the mock gateway
// (?gw=…). Every test asserts exact codes and values; results go to window.__results. A test may
// return a note, printed beside its result: what it tested in an engine that lacks a feature.
import * as H5 from "../../pkg/index.js";

const GW = new URLSearchParams(location.search).get("gw");
const PRODUCTS = await (await fetch("../mock-gateway/products.json")).json();
const pageOf = (id) => PRODUCTS.products.find((p) => p.id === id).page;

function fail(msg) {
  throw new Error(msg);
}
function eq(actual, expected, what) {
  if (!Object.is(actual, expected)) {
    fail(`${what}: ${JSON.stringify(actual)} !== ${JSON.stringify(expected)}`);
  }
}
/** Deep JSON equality, key order ignored; fails with the path of the first difference. */
function jsonEq(a, b, path = "$") {
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    return eq(a, b, path);
  }
  eq(Array.isArray(a), Array.isArray(b), path + " is an array");
  eq(Object.keys(a).sort().join(","), Object.keys(b).sort().join(","), path + " keys");
  for (const k of Object.keys(a)) jsonEq(a[k], b[k], path + "." + k);
}
/** Awaits `p`, which must reject with an H5AccessError of `code`; returns the error. */
async function rejects(p, code) {
  let e;
  try {
    await p;
  } catch (err) {
    e = err;
  }
  if (e === undefined) fail(`expected ${code}, got success`);
  if (!(e instanceof H5.H5AccessError)) fail(`expected ${code}, got ${e}`);
  eq(e instanceof Error, true, "an Error");
  eq(e.name, "H5AccessError", "name");
  eq(e.code, code, "code");
  return e;
}

async function mint(products, ttl = 300) {
  const r = await fetch(GW + "/test/access-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ subject: "u-1", products, ttl_seconds: ttl }),
  });
  if (!r.ok) fail("mint failed " + r.status);
  return (await r.json()).access_token;
}
const keys = async () => new Uint8Array(await (await fetch(GW + "/v1/keys")).arrayBuffer());
/** The gateway's key configuration list with its first key id changed to one it does not know. */
async function staleKeys(id) {
  const k = await keys();
  k[2] = id; // length (2) ‖ key id (1) ‖ …
  return k;
}
const create = (extra = {}, gateway = GW) => H5.H5Client.create({ gateway, ...extra });
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
  async happy_path_page_fields_and_call() {
    const client = await create();
    eq(client instanceof H5.H5Client, true, "instanceof H5Client");
    const session = await client.exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    eq(session instanceof H5.H5Session, true, "instanceof H5Session");
    const page = session.page;
    // Field by field, as in tests/mock-gateway/products.json.
    eq(page.product, "wealth-01", "product");
    eq(page.title, "Steady Growth Fund", "title");
    eq(page.subtitle, "Low-risk wealth management, redeem any working day", "subtitle");
    jsonEq(page.theme, { primary: "#C8102E", background: "#FFF8F0", text: "#1F1F1F", accent: "#F2A900" });
    eq(page.sections.length, 2, "sections");
    const expected = [
      ["Highlights", [["7-day annualised yield", "3.20%"], ["Risk level", "R2 (low to medium)"], ["Minimum purchase", "¥1,000.00"]]],
      ["Terms", [["Redemption", "T+1, working days"], ["Management fee", "0.30% per year"], ["Custodian", "Example Trust Bank"]]],
    ];
    expected.forEach(([title, rows], i) => {
      eq(page.sections[i].title, title, `section ${i} title`);
      eq(page.sections[i].fields.length, rows.length, `section ${i} fields`);
      rows.forEach(([label, value], j) => {
        eq(page.sections[i].fields[j].label, label, `section ${i} field ${j} label`);
        eq(page.sections[i].fields[j].value, value, `section ${i} field ${j} value`);
      });
    });
    // Nothing more or less than the catalogue's page, in the catalogue's key order; the same
    // object each time.
    jsonEq(page, pageOf("wealth-01"));
    eq(JSON.stringify(page), JSON.stringify(pageOf("wealth-01")), "the catalogue's key order");
    eq(Object.keys(page).join(","), "product,title,subtitle,theme,sections", "top-level key order");
    eq(session.page, page, "the same page object");

    // expiresAt: milliseconds since the epoch, the gateway's 900 s VT lifetime from now.
    const ttl = session.expiresAt - Date.now();
    eq(ttl > 880000 && ttl <= 901000, true, `expiresAt ${ttl} ms from now`);
    eq(session.expiresAt % 1000, 0, "whole seconds, in ms");
    eq(session.closed, false, "closed");

    // quote: 1,000.00 over 12 months at 320 bps: floor(100000 × 320 × 12 / 120000) = 3200.
    const quote = await session.call("quote", { amount_cents: 100000, months: 12 });
    jsonEq(quote, { product: "wealth-01", amount_cents: 100000, months: 12, rate_bps: 320, interest_cents: 3200, total_cents: 103200 });
    // Outside the service's range: refused by the service.
    const e = await rejects(session.call("quote", { amount_cents: 100, months: 0 }), "SERVICE_ERROR");
    eq(e.gatewayCode, "SERVICE_REJECTED", "gatewayCode");
    // The session keeps working: echo answers the body unchanged; no body is {}.
    jsonEq(await session.call("echo", { n: 1, s: "x", a: [true, null] }), { n: 1, s: "x", a: [true, null] });
    jsonEq(await session.call("echo"), {});
    jsonEq(await session.call("echo", "text"), "text");
    // profile: the subject masked, from the VT.
    jsonEq(await session.call("profile", null), { display_name: "u*1", product: "wealth-01", partner: "demo-partner" });
  },

  async tampered_response_is_decrypt_failed() {
    // The hook serves only POST /test/tamper/v1/exchange (the real exchange, last response
    // byte flipped), so the key configuration is pinned.
    const client = await create({ keyConfig: await keys() }, GW + "/test/tamper");
    await rejects(client.exchange(await mint(["wealth-01"]), { product: "wealth-01" }), "DECRYPT_FAILED");
  },

  async expired_at_is_at_expired() {
    const client = await create();
    const e = await rejects(client.exchange(await mint(["wealth-01"], -600), { product: "wealth-01" }), "AT_EXPIRED");
    eq(e.gatewayCode, "AT_EXPIRED", "gatewayCode");
  },

  async reused_at_is_at_used() {
    const client = await create();
    const at = await mint(["loan-02"]);
    const session = await client.exchange(at, { product: "loan-02" });
    eq(session.page.title, "Flexi Cash Loan", "title");
    jsonEq(session.page, pageOf("loan-02"));
    await rejects(client.exchange(at, { product: "loan-02" }), "AT_USED");
  },

  async product_outside_scope_is_at_rejected_with_gateway_code() {
    const client = await create();
    const at = await mint(["wealth-01"]);
    const e = await rejects(client.exchange(at, { product: "card-03" }), "AT_REJECTED");
    eq(e.gatewayCode, "PRODUCT_NOT_ALLOWED", "gatewayCode");
    eq(e.message.includes(at), false, "the message never holds the AT");
    eq(e.status, undefined, "status");
  },

  async not_genuine_at_is_at_rejected() {
    const client = await create();
    const e = await rejects(client.exchange("AT.forged-token", { product: "wealth-01" }), "AT_REJECTED");
    eq(e.gatewayCode, "AT_INVALID", "gatewayCode");
  },

  async missing_at_is_at_missing() {
    const client = await create();
    await rejects(client.exchange("", { product: "wealth-01" }), "AT_MISSING");
    await rejects(client.exchange(undefined, { product: "wealth-01" }), "AT_MISSING");
  },

  async gateway_down_is_network() {
    // Nothing listens on the discard port of loopback.
    eq((await rejects(create({}, "http://127.0.0.1:9"), "NETWORK")).retryable, true, "retryable");
  },

  async captive_portal_200_html_is_retryable_and_the_same_at_then_works() {
    // What a Wi-Fi sign-in page does: it answers the exchange itself, 200 text/html (a real
    // HTML file of the test server, fetched in the gateway's place).
    const client = await create();
    const at = await mint(["wealth-01"]);
    const portal = new URL("./index.html", import.meta.url).href;
    const e = await withFetch(
      (f) => (req, ...rest) => (String(req.url ?? req).endsWith("/v1/exchange") ? f(portal) : f(req, ...rest)),
      () => rejects(client.exchange(at, { product: "wealth-01" }), "BAD_RESPONSE"),
    );
    eq(e.reason, "NOT_GATEWAY", "reason");
    eq(e.retryable, true, "retryable");
    eq(e.status, undefined, "status");
    const session = await client.exchange(at, { product: "wealth-01" });
    jsonEq(session.page, pageOf("wealth-01"));
    session.close();
  },

  async proxy_502_is_retryable_and_the_same_at_then_works() {
    const client = await create();
    const at = await mint(["wealth-01"]);
    const badGateway = () => new Response("<html><body>502 Bad Gateway</body></html>", { status: 502, headers: { "content-type": "text/html" } });
    const e = await withFetch(
      (f) => (req, ...rest) => (String(req.url ?? req).endsWith("/v1/exchange") ? Promise.resolve(badGateway()) : f(req, ...rest)),
      () => rejects(client.exchange(at, { product: "wealth-01" }), "HTTP_STATUS"),
    );
    eq(e.status, 502, "status");
    eq(e.reason, "NOT_GATEWAY", "reason");
    eq(e.retryable, true, "retryable");
    const session = await client.exchange(at, { product: "wealth-01" });
    eq(session.page.title, "Steady Growth Fund", "title");
    session.close();
  },

  async gateway_refusals_after_decapsulation_are_not_retryable() {
    const client = await create();
    const at = await mint(["loan-02"]);
    (await client.exchange(at, { product: "loan-02" })).close();
    const used = await rejects(client.exchange(at, { product: "loan-02" }), "AT_USED");
    eq(used.retryable, false, "AT_USED retryable");
    eq(used.reason, undefined, "AT_USED reason");
    const rejected = await rejects(client.exchange(await mint(["wealth-01"]), { product: "card-03" }), "AT_REJECTED");
    eq(rejected.retryable, false, "AT_REJECTED retryable");
    const slow = await create({ keyConfig: await keys(), timeoutMs: 300 }, GW + "/test/slow");
    eq((await rejects(slow.exchange(await mint(["wealth-01"]), { product: "wealth-01" }), "TIMEOUT")).retryable, false, "TIMEOUT of an exchange (it may have arrived)");
    const tampered = await create({ keyConfig: await keys() }, GW + "/test/tamper");
    eq((await rejects(tampered.exchange(await mint(["wealth-01"]), { product: "wealth-01" }), "DECRYPT_FAILED")).retryable, false, "DECRYPT_FAILED retryable");
  },

  async problem_before_decapsulation_is_retryable_with_its_gateway_code() {
    // A request over the gateway's 64 KiB is refused before anything is decapsulated.
    const session = await (await create()).exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    const e = await rejects(session.call("echo", "x".repeat(70000)), "HTTP_STATUS");
    eq(e.gatewayCode, "TOO_LARGE", "gatewayCode");
    eq(e.reason, undefined, "reason: a problem document, the gateway's own");
    eq(e.retryable, true, "retryable");
    session.close();
  },

  async bare_proxy_response_is_an_h5_access_error() {
    // A page whose fetch wrapper returns `new Proxy(response, {})`: every Response getter then
    // throws a TypeError; the SDK reports NETWORK, never the raw TypeError.
    const proxied = (f) => (...a) => f(...a).then((r) => new Proxy(r, {}));
    const e = await withFetch(proxied, () => rejects(create(), "NETWORK"));
    eq(e.retryable, true, "create: retryable");
    const client = await create();
    const at = await mint(["wealth-01"]);
    const x = await withFetch(proxied, () => rejects(client.exchange(at, { product: "wealth-01" }), "NETWORK"));
    eq(x.retryable, false, "exchange: the request was sent, so not retryable");
  },

  async unknown_route_is_http_status_with_its_code() {
    // A path the gateway does not serve: 404 with the problem document NOT_FOUND (every error
    // the stack makes has a code, issue 14 §3), CORS headers included, so the page sees it.
    // Non-problem (HTML, empty) error bodies are covered by tests/js with a scripted fetch.
    const e = await rejects(create({}, GW + "/no-such-base"), "HTTP_STATUS");
    eq(e.status, 404, "status");
    eq(e.gatewayCode, "NOT_FOUND", "gatewayCode");
    eq(e.reason, undefined, "reason: a problem document, the gateway's own");
    eq(e.retryable, true, "retryable (create uses no AT)");
  },

  async slow_gateway_is_timeout() {
    const client = await create({ keyConfig: await keys(), timeoutMs: 500 }, GW + "/test/slow");
    const at = await mint(["wealth-01"]);
    const start = Date.now();
    await rejects(client.exchange(at, { product: "wealth-01" }), "TIMEOUT");
    const took = Date.now() - start;
    eq(took >= 450 && took < 2500, true, `rejected after ${took} ms, not after the gateway's 3 s`);
  },

  async stale_pinned_key_refreshes_once_then_succeeds() {
    const client = await create({ keyConfig: await staleKeys(99) });
    const session = await client.exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    jsonEq(session.page, pageOf("wealth-01"));
    // The refreshed configuration is kept: calls go straight through.
    eq((await session.call("quote", { amount_cents: 1200, months: 1 })).interest_cents, 3, "interest");
  },

  async stale_pinned_key_refresh_is_one_get_of_the_keys() {
    // Under /test/tamper the exchange answers 422 KEY_UNKNOWN for the unknown key id, and the
    // refresh (GET /test/tamper/v1/keys, not served) answers 404: the client did refresh once,
    // and reports the refresh's failure rather than retrying again.
    const client = await create({ keyConfig: await staleKeys(97) }, GW + "/test/tamper");
    const e = await rejects(client.exchange(await mint(["wealth-01"]), { product: "wealth-01" }), "HTTP_STATUS");
    eq(e.status, 404, "status");
  },

  async fetched_key_list_older_than_its_max_age_is_fetched_again_first() {
    // The gateway serves the list with `public, max-age=300`, read cross-origin (Cache-Control
    // is CORS-safelisted). The clock is moved ahead through Date.now, which the SDK reads: 290 s
    // is inside the gateway's 300-s request window (the exchange opens), 310 s outside it
    // (CLOCK_SKEW: sealed and sent all the same).
    const realNow = Date.now;
    const seen = [];
    const record = (f) => (input, init) => {
      const url = typeof input === "string" ? input : input.url;
      seen.push(`${init?.method ?? input.method ?? "GET"} ${new URL(url).pathname}`);
      return f(input, init);
    };
    const exchangeAhead = async (client, ahead) => {
      const at = await mint(["wealth-01"]);
      seen.length = 0;
      const started = realNow.call(Date);
      Date.now = () => started + ahead * 1000;
      try {
        return await withFetch(record, () =>
          client.exchange(at, { product: "wealth-01" }).then(
            (session) => (jsonEq(session.page, pageOf("wealth-01")), "opened"),
            (e) => (e instanceof H5.H5AccessError ? e.code : String(e)),
          ),
        );
      } finally {
        Date.now = realNow;
      }
    };
    const client = await create();
    for (const [ahead, requests, outcome] of [
      [290, "POST /v1/exchange", "opened"],
      [310, "GET /v1/keys,POST /v1/exchange", "CLOCK_SKEW"],
      [310, "POST /v1/exchange", "CLOCK_SKEW"], // the refetched list counts from its own request
    ]) {
      eq(await exchangeAhead(client, ahead), outcome, `outcome ${ahead} s on`);
      eq(seen.join(","), requests, `requests ${ahead} s on`);
    }
    // A pinned keyConfig is never fetched again.
    const pinned = await create({ keyConfig: await keys() });
    eq(await exchangeAhead(pinned, 3600), "CLOCK_SKEW", "pinned: outcome");
    eq(seen.join(","), "POST /v1/exchange", "pinned: requests");
  },

  async stale_pinned_key_as_base64_also_refreshes() {
    const k = await staleKeys(98);
    const b64 = btoa(String.fromCharCode(...k)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const client = await create({ keyConfig: b64 });
    const session = await client.exchange(await mint(["card-03"]), { product: "card-03" });
    eq(session.page.title, "Platinum Travel Card", "title");
    jsonEq(session.page, pageOf("card-03"));
  },

  async closed_session_is_session_closed() {
    const client = await create();
    const session = await client.exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    session.close();
    eq(session.closed, true, "closed");
    session.close(); // idempotent
    session.free(); // the same as close(), also idempotent
    await rejects(session.call("quote", { amount_cents: 1, months: 1 }), "SESSION_CLOSED");
    jsonEq(session.page, pageOf("wealth-01")); // the page data stays readable
  },

  async free_closes_the_session() {
    const session = await (await create()).exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    session.free();
    eq(session.closed, true, "closed");
    await rejects(session.call("echo", {}), "SESSION_CLOSED");
  },

  // `using` / [Symbol.dispose]() where the engine has Symbol.dispose (Chromium, Firefox); WebKit
  // (WebKitGTK 2.50, Safari) has none: there the SDK must load and work without it, define no
  // dispose method under any key, and close() / free() are how a page ends a session.
  async symbol_dispose_closes_the_session_where_the_engine_has_it() {
    const session = await (await create()).exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    if (typeof Symbol.dispose === "symbol") {
      eq(typeof session[Symbol.dispose], "function", "session[Symbol.dispose]");
      session[Symbol.dispose]();
      eq(session.closed, true, "closed by [Symbol.dispose]()");
      session[Symbol.dispose](); // idempotent
      await rejects(session.call("echo", {}), "SESSION_CLOSED");
      return "Symbol.dispose present: [Symbol.dispose]() closes the session";
    }
    eq(typeof Symbol.dispose, "undefined", "Symbol.dispose");
    eq(Object.prototype.hasOwnProperty.call(H5.H5Session.prototype, "undefined"), false, "no method under the key \"undefined\"");
    eq(Object.getOwnPropertySymbols(H5.H5Session.prototype).filter((k) => /dispose/i.test(k.description)).length, 0, "no home-made dispose symbol");
    eq(session.closed, false, "open");
    session.close();
    eq(session.closed, true, "closed by close()");
    return "this engine has no Symbol.dispose (so no `using`): close() tested instead";
  },

  async close_during_a_call_rejects_it() {
    const client = await create();
    const session = await client.exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    const pending = session.call("quote", { amount_cents: 1, months: 1 });
    session.close();
    await rejects(pending, "SESSION_CLOSED");
  },

  async unknown_service_is_service_error() {
    const client = await create();
    const session = await client.exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    const e = await rejects(session.call("no-such-service", {}), "SERVICE_ERROR");
    eq(e.gatewayCode, "SERVICE_UNKNOWN", "gatewayCode");
  },

  async call_body_over_the_gateways_64_kib_is_http_status_413() {
    // The SDK seals call bodies up to 512 KiB (the protocol's maximum), but the reference
    // gateway (and the mock) refuse any request over 64 KiB: README "session.call", index.d.ts.
    const session = await (await create()).exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    const small = "x".repeat(60000);
    eq(await session.call("echo", small), small, "a 60,000-character body passes");
    const e = await rejects(session.call("echo", "x".repeat(70000)), "HTTP_STATUS");
    eq(e.status, 413, "status");
    eq(e.gatewayCode, "TOO_LARGE", "gatewayCode");
    eq((await rejects(session.call("echo", "x".repeat(524289)), "INVALID_ARGUMENT")).argument, "body", "argument");
    eq(await session.call("echo", { ok: true }).then((a) => a.ok), true, "the session still works");
    session.close();
  },

  async bad_arguments_are_invalid_argument() {
    /** Rejects with INVALID_ARGUMENT naming `argument`. */
    const invalid = async (p, argument) => eq((await rejects(p, "INVALID_ARGUMENT")).argument, argument, "argument");
    await invalid(H5.H5Client.create(undefined), "options");
    await invalid(H5.H5Client.create(null), "options");
    await invalid(create({ timeoutMs: -1 }), "timeoutMs");
    await invalid(create({ timeoutMs: Number.NaN }), "timeoutMs");
    await invalid(create({}, ""), "gateway");
    await invalid(create({ keyConfig: 42 }), "keyConfig");
    eq((await rejects(create({ keyConfig: "!!" }), "KEY_CONFIG")).argument, undefined, "argument only for INVALID_ARGUMENT");
    await rejects(create({ keyConfig: new Uint8Array([0, 9, 1]) }), "KEY_CONFIG");
    const client = await create();
    await invalid(client.exchange("AT.x", { product: "bad product!" }), "product");
    await invalid(client.exchange("AT.x", {}), "product");
    await rejects(client.exchange("AT with spaces", { product: "wealth-01" }), "AT_REJECTED");
    const session = await client.exchange(await mint(["wealth-01"]), { product: "wealth-01" });
    // Values JSON.stringify cannot serialise: a BigInt, a function.
    await invalid(session.call("quote", 1n), "body");
    await invalid(session.call("quote", () => 1), "body");
    await invalid(session.call(42, {}), "service");
    await invalid(session.call("bad service!", {}), "service");
    await invalid(session.call("echo", "x".repeat(524289)), "body");
    // None of these consumed the session.
    eq((await session.call("echo", [1])).length, 1, "echo after bad arguments");
  },

  async no_public_constructors() {
    for (const C of [H5.H5Client, H5.H5Session]) {
      let e;
      try {
        new C();
      } catch (err) {
        e = err;
      }
      eq(e instanceof TypeError, true, `new ${C.name}() throws TypeError`);
    }
  },

  take_access_token_leaves_no_at_in_location_or_history() {
    const secret = "AT.secret-token_0123456789";
    const before = history.length;
    history.replaceState(null, "", `?gw=${encodeURIComponent(GW)}#lang=zh&at=${secret}&theme=dark`);
    eq(location.href.includes(secret), true, "set up");
    eq(H5.takeAccessToken(), secret, "token");
    eq(location.href.includes(secret), false, "location.href");
    eq(location.hash, "#lang=zh&theme=dark", "other parameters kept");
    eq(location.search, `?gw=${encodeURIComponent(GW)}`, "the query is kept");
    eq(history.length, before, "no history entry added");
    eq(JSON.stringify(history.state).includes(secret), false, "history.state");
    let e;
    try {
      H5.takeAccessToken();
    } catch (err) {
      e = err;
    }
    eq(e instanceof H5.H5AccessError && e.code, "AT_MISSING", "a second call");
    // This document was opened by a navigation (not a reload): no reason.
    eq(e.reason, undefined, "reason of a page not reloaded");
    eq(e.retryable, false, "retryable");
    // Only the token: the hash goes entirely; another parameter name.
    history.replaceState(null, "", `#token=${secret}`);
    eq(H5.takeAccessToken("token"), secret, "named token");
    eq(location.hash, "", "hash gone");
    // An AT in the query is never read, but removed too (the other query parameters kept).
    const gw = `gw=${encodeURIComponent(GW)}`;
    history.replaceState(null, "", `?at=Q.query-token&${gw}&at=Q.again#lang=zh&at=${secret}`);
    eq(H5.takeAccessToken(), secret, "the token is the fragment's");
    eq(location.search, `?${gw}`, "query at removed");
    eq(location.hash, "#lang=zh", "hash at removed");
    history.replaceState(null, "", `?${gw}&at=Q.query-only`);
    e = undefined;
    try {
      H5.takeAccessToken();
    } catch (err) {
      e = err;
    }
    eq(e instanceof H5.H5AccessError && e.code, "AT_MISSING", "a query-only AT is not taken");
    eq(location.href.includes("Q.query-only"), false, "but it is removed from the URL");
    eq(location.search, `?${gw}`, "the rest of the query kept");
    eq(history.length, before, "still no history entry added");
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
