// The npm package h5-access (copied to pkg/index.js by scripts/build-sdk.sh). This file is the
// SDK's JavaScript half: loading the wasm, the error class, reading the AT from the URL, HTTP
// (fetch with a timeout), the answer classification, the one stale-key retry, and the public
// classes. The wasm (src/sdk) is a synchronous crypto core: it seals requests and opens answers,
// and keeps the HPKE contexts, the session secret and the VT in its memory — JavaScript only
// ever holds handles to them, and `close()` zeroizes them. Nothing here sees a secret except
// takeAccessToken and exchange, which hand the AT straight to the wasm.
import initWasm, { checkKeyConfig, scrubStack, sealExchange } from "./h5_access.js";

/** What each code means; never holds secret material (README "Error codes"). */
const MESSAGES = {
  NETWORK: "the gateway could not be reached",
  TIMEOUT: "the gateway did not answer in time",
  HTTP_STATUS: "the gateway answered with an HTTP error status",
  BAD_RESPONSE: "the gateway's answer is not a valid h5-access response",
  DECRYPT_FAILED: "the gateway's answer failed authentication",
  KEY_CONFIG: "the gateway key configuration is missing, invalid or unsupported",
  AT_MISSING: "no access token",
  AT_EXPIRED: "the access token has expired",
  AT_USED: "the access token was already used",
  AT_REJECTED: "the access token was rejected for this product",
  VT_EXPIRED: "the session has expired",
  VT_REJECTED: "the gateway no longer accepts this session",
  SESSION_CLOSED: "the session is closed",
  REPLAYED: "the gateway saw this request before",
  CLOCK_SKEW: "the device clock is too far from the gateway's",
  SERVICE_ERROR: "the service refused the call",
  RATE_LIMITED: "too many calls in this session this minute",
  GATEWAY_ERROR: "the gateway failed to process the request",
  INVALID_ARGUMENT: "invalid argument",
  UNSUPPORTED_BROWSER: "this browser lacks WebAssembly or crypto.getRandomValues",
  LOAD_FAILED: "the SDK's WebAssembly could not be loaded or compiled",
};

/** A gateway's own code is passed on only if it looks like one, so no gateway text reaches the page. */
const gatewayCodeOf = (c) => (typeof c === "string" && /^[A-Z0-9_]{1,64}$/.test(c) ? c : undefined);

/** The names an INVALID_ARGUMENT error's `argument` may take: fixed names, never a value. */
const ARGUMENTS = ["options", "gateway", "timeoutMs", "keyConfig", "product", "service", "body"];

/** Every error of the SDK. `code` is stable; `message` never holds a token or secret. */
export class H5AccessError extends Error {
  constructor(code, status, gatewayCode, argument) {
    const known = Object.prototype.hasOwnProperty.call(MESSAGES, code);
    super(MESSAGES[known ? code : "BAD_RESPONSE"]);
    this.name = "H5AccessError";
    this.code = known ? code : "BAD_RESPONSE";
    this.status = typeof status === "number" && status > 0 ? status : undefined;
    this.gatewayCode = gatewayCodeOf(gatewayCode);
    /** For INVALID_ARGUMENT: which argument (one of ARGUMENTS), when known. */
    this.argument = this.code === "INVALID_ARGUMENT" && ARGUMENTS.includes(argument) ? argument : undefined;
  }
}

/** An INVALID_ARGUMENT error naming `argument`. */
const invalid = (argument) => new H5AccessError("INVALID_ARGUMENT", 0, undefined, argument);
/** `e`, or, for an INVALID_ARGUMENT naming no argument (the wasm's), the same naming `argument`. */
const naming = (e, argument) =>
  e instanceof H5AccessError && e.code === "INVALID_ARGUMENT" && e.argument === undefined ? invalid(argument) : e;

/**
 * Runs a wasm core function. The core throws a string: an error code, or a code, a space and the
 * gateway's own code ("AT_REJECTED PRODUCT_NOT_ALLOWED"). Anything else (a trap: a bug) becomes
 * `fallback`, so every failure is still an H5AccessError. Afterwards the wasm's shadow stack is
 * scrubbed of the copies of secrets the call left in returned frames (src/sdk/core.rs).
 */
function core(fallback, f) {
  try {
    return f();
  } catch (e) {
    if (typeof e !== "string") throw new H5AccessError(fallback);
    const i = e.indexOf(" ");
    throw i < 0 ? new H5AccessError(e) : new H5AccessError(e.slice(0, i), 0, e.slice(i + 1));
  } finally {
    scrubStack();
  }
}

// ---- loading ----

let ready = null;

async function load(source) {
  if (
    typeof WebAssembly !== "object" ||
    WebAssembly === null ||
    typeof WebAssembly.instantiate !== "function" ||
    typeof globalThis.crypto !== "object" ||
    globalThis.crypto === null ||
    typeof globalThis.crypto.getRandomValues !== "function"
  ) {
    throw new H5AccessError("UNSUPPORTED_BROWSER");
  }
  const input = source === undefined ? new URL("./h5_access_bg.wasm", import.meta.url) : source;
  if (typeof input === "string" || input instanceof URL) {
    let res;
    try {
      res = await fetch(input, { credentials: "same-origin" });
    } catch {
      throw new H5AccessError("NETWORK");
    }
    // A 404 or another error page: reported as such, never downloaded twice or compiled.
    if (!res.ok) throw new H5AccessError("HTTP_STATUS", res.status);
    try {
      // Streaming compile first (the glue uses instantiateStreaming for application/wasm)...
      // Some Android WebViews, and pages whose debugging console wraps fetch, break it even
      // when the server sends application/wasm...
      await initWasm({ module_or_path: res.clone() });
      return;
    } catch {
      // ...so on any failure instantiate the same response's bytes.
    }
    try {
      source = await res.arrayBuffer();
    } catch {
      throw new H5AccessError("NETWORK");
    }
  }
  try {
    // Bytes or a compiled module: WebAssembly.instantiate, no fetch.
    await initWasm({ module_or_path: source });
  } catch {
    // Not WebAssembly (an HTML page served in its place), or compiling it is refused (a CSP
    // without 'wasm-unsafe-eval'): a deployment problem, not the browser's.
    throw new H5AccessError("LOAD_FAILED");
  }
}

/**
 * Loads and instantiates the wasm once (later calls return the same promise; a failed load can
 * be retried). `H5Client.create` calls it, so calling it yourself is only needed to preload or
 * to pass the .wasm from elsewhere.
 */
export function init(source) {
  if (ready === null) {
    ready = load(source);
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

// ---- the access token ----

/**
 * Reads the access token from `location.hash` (`#at=<token>`, other `&`-separated parameters
 * kept), removes it from the URL and replaces the current history entry so that neither
 * `location` nor `history` holds it any more. An `at` in the query is never read (a query goes
 * to servers and into Referer) but is removed too. Throws H5AccessError AT_MISSING if absent.
 */
export function takeAccessToken(name = "at") {
  const loc = globalThis.location;
  if (!loc || typeof loc.hash !== "string") throw new H5AccessError("AT_MISSING");
  const prefix = name + "=";
  /** Whether `part` is the parameter `name` itself (not one that merely contains "at="). */
  const isToken = (part) => part === name || part.startsWith(prefix);
  let token = null;
  const rest = [];
  for (const part of loc.hash.replace(/^#/, "").split("&")) {
    if (isToken(part)) {
      if (token === null) {
        try {
          token = decodeURIComponent(part.slice(prefix.length));
        } catch {
          token = "";
        }
      }
    } else if (part !== "") {
      rest.push(part);
    }
  }
  const search = String(loc.search || "");
  const query = search.slice(1).split("&").filter((p) => p !== "" && !isToken(p));
  const inQuery = query.length !== search.slice(1).split("&").filter((p) => p !== "").length;
  if (token === null && !inQuery) throw new H5AccessError("AT_MISSING");
  const hash = rest.length ? "#" + rest.join("&") : "";
  let replaced = false;
  try {
    const h = globalThis.history;
    if (h && typeof h.replaceState === "function") {
      h.replaceState(h.state, "", loc.pathname + (inQuery ? (query.length ? "?" + query.join("&") : "") : search) + hash);
      replaced = true;
    }
  } catch {
    // e.g. a sandboxed document: fall through.
  }
  if (token !== null && (!replaced || String(loc.hash || "").slice(1).split("&").some(isToken))) {
    // A hash-only location.replace does not reload and replaces the current entry. It keeps the
    // query the location has now (sanitised by replaceState when that worked): changing the
    // query would reload the page mid-exchange, and never puts back an `at` removed from it.
    loc.replace(loc.pathname + String(loc.search || "") + hash);
  }
  if (!token) throw new H5AccessError("AT_MISSING");
  return token;
}

// ---- HTTP ----

const KEYS = "application/ohttp-keys";
const PROBLEM = "application/problem+json";
/** The RFC 9458 §5.3 / RFC 9457 problem type of a request made to an unknown or stale key. */
const STALE_KEY = "https://iana.org/assignments/http-problem-types#ohttp-key";
const media = (channel, dir) => "application/vnd.h5-access." + channel + "-" + dir;

/**
 * Longest gateway answer read, bytes: an encapsulated response at its protocol maximum,
 * 32 + (1 + 1 + 8 + 2 + 2048 + 4 + 524288) + 16 (docs/PROTOCOL.md §4.2; MAX_RESPONSE_LEN in
 * src/protocol/encapsulation.rs). Key configuration lists are held to it too.
 */
const MAX_ANSWER = 526400;
/** Longest call body sealed, bytes of UTF-8 JSON: 512 KiB (MAX_BODY_LEN, src/protocol/messages.rs). */
const MAX_BODY = 524288;
/** Longest error (problem+json) body read, bytes. */
const MAX_PROBLEM = 16384;

/**
 * Reads `res`'s body, at most `cap` bytes: a declared Content-Length over it is refused before
 * reading, and the stream is cancelled as soon as it passes it. Resolves to the bytes, or null
 * if the body is too long.
 */
async function readBody(res, cap) {
  if (Number(res.headers.get("content-length")) > cap) return null;
  const reader = res.body && res.body.getReader();
  const chunks = [];
  let total = 0;
  for (let r; reader && !(r = await reader.read()).done; ) {
    total += r.value.length;
    if (total > cap) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(r.value);
  }
  const bytes = new Uint8Array(total);
  chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
  return bytes;
}

/**
 * One HTTP exchange (body `undefined`: GET): resolves to { status, type, body: Uint8Array } for
 * any HTTP status; rejects with H5AccessError NETWORK or TIMEOUT (however fetch fails), or, for
 * a body over its cap (MAX_ANSWER for a 200, MAX_PROBLEM else), BAD_RESPONSE for a 200 and
 * HTTP_STATUS otherwise. The timeout covers the body.
 */
async function send(url, contentType, accept, body, timeoutMs) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  let timedOut = false;
  let rejectTimeout;
  const timer = setTimeout(() => {
    timedOut = true;
    if (controller) controller.abort();
    // Browsers without AbortController still get a timeout (the request is left to finish).
    setTimeout(() => rejectTimeout(), 50);
  }, timeoutMs);
  const timeout = new Promise((_, reject) => (rejectTimeout = reject));
  let res;
  try {
    res = await Promise.race([
      (async () => {
        const r = await fetch(url, {
          method: body ? "POST" : "GET",
          headers: body ? { "content-type": contentType, accept } : { accept },
          body,
          cache: "no-store",
          credentials: "omit",
          redirect: "error",
          signal: controller ? controller.signal : undefined,
        });
        const status = r.status | 0;
        const bytes = await readBody(r, status === 200 ? MAX_ANSWER : MAX_PROBLEM);
        return { status, type: r.headers.get("content-type") || "", body: bytes };
      })(),
      timeout,
    ]);
  } catch {
    // Whatever fetch or the body rejected with (an H5AccessError from a wrapped fetch included).
    throw new H5AccessError(timedOut ? "TIMEOUT" : "NETWORK");
  } finally {
    clearTimeout(timer);
    rejectTimeout = () => {};
  }
  if (res.body === null) {
    throw res.status === 200 ? new H5AccessError("BAD_RESPONSE") : new H5AccessError("HTTP_STATUS", res.status);
  }
  return res;
}

/** Whether a Content-Type (parameters ignored, case-insensitive) is `expected`. */
const isMedia = (type, expected) => type.split(";")[0].trim().toLowerCase() === expected;

/**
 * Classifies an answer expected to carry `expected`: its body for a 200 of that media type,
 * `null` for the RFC 9458 §5.3 stale-key signal (422 with the `ohttp-key` problem type); else
 * throws BAD_RESPONSE (a 200 of another type: a captive portal) or HTTP_STATUS (with the
 * problem body's `code` as gatewayCode; HTML or empty bodies from proxies included).
 */
function classify(res, expected) {
  if (res.status === 200) {
    if (isMedia(res.type, expected)) return res.body;
    throw new H5AccessError("BAD_RESPONSE");
  }
  let problem = {};
  if (isMedia(res.type, PROBLEM)) {
    try {
      problem = Object(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(res.body)));
    } catch {
      // Not a problem document after all: the status alone.
    }
  }
  // Own properties only: nothing inherited (a polluted Object.prototype) is taken for a field.
  const field = (k) => (Object.prototype.hasOwnProperty.call(problem, k) ? problem[k] : undefined);
  if (res.status === 422 && field("type") === STALE_KEY) return null;
  if (res.status < 100) throw new H5AccessError("BAD_RESPONSE");
  throw new H5AccessError("HTTP_STATUS", res.status, field("code"));
}

/** Standard or URL-safe base64, padding optional, anything else refused: bytes or null. */
function base64(text) {
  const t = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (/[^A-Za-z0-9+/]/.test(t) || t.length % 4 === 1) return null;
  return Uint8Array.from(atob(t + "==".slice(0, (4 - (t.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

// ---- the public classes ----

const PRIVATE = Symbol();
const DEFAULT_TIMEOUT_MS = 10000;
/** Longest `timeoutMs` accepted: two minutes. */
const MAX_TIMEOUT_MS = 120000;

/**
 * The gateway option as a base URL without trailing "/": an absolute http: or https: URL with
 * no query, fragment or credentials; else null.
 */
function gatewayBase(gateway) {
  try {
    const u = new URL(gateway);
    if (typeof gateway === "string" && /^https?:$/.test(u.protocol) && !/[?#]/.test(gateway) && !u.username && !u.password) {
      return u.href.replace(/\/+$/, "");
    }
  } catch {
    // Not a URL.
  }
  return null;
}

/** A client of one gateway. Create it with `await H5Client.create(options)`. */
export class H5Client {
  #gateway;
  #timeoutMs;
  #keys;

  constructor(token, gateway, timeoutMs, keys) {
    if (token !== PRIVATE) throw new TypeError("use H5Client.create");
    this.#gateway = gateway;
    this.#timeoutMs = timeoutMs;
    this.#keys = keys;
  }

  /**
   * Creates a client of `options.gateway`. Without a `keyConfig` (the initial key
   * configuration; replaced like a fetched one on a stale-key signal, see #post) it fetches
   * `GET {gateway}/v1/keys` now. Rejects with H5AccessError (INVALID_ARGUMENT, KEY_CONFIG,
   * NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, UNSUPPORTED_BROWSER, LOAD_FAILED).
   */
  static async create(options) {
    const ok = options !== null && typeof options === "object";
    await init(ok ? options.wasm : undefined);
    if (!ok) throw invalid("options");
    const { gateway, timeoutMs = DEFAULT_TIMEOUT_MS, keyConfig } = options;
    const base = gatewayBase(gateway);
    if (base === null) throw invalid("gateway");
    if (typeof timeoutMs !== "number" || !(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw invalid("timeoutMs");
    }
    let keys;
    if (typeof keyConfig === "string") {
      keys = base64(keyConfig);
      if (keys === null) throw new H5AccessError("KEY_CONFIG");
    } else if (keyConfig instanceof Uint8Array) {
      keys = keyConfig.slice();
    } else if (keyConfig !== undefined) {
      throw invalid("keyConfig");
    }
    const client = new H5Client(PRIVATE, base, Math.ceil(timeoutMs), keys);
    if (keys === undefined) await client.#fetchKeys();
    else core("KEY_CONFIG", () => checkKeyConfig(keys));
    return client;
  }

  /** `GET {gateway}/v1/keys`, checked and kept. */
  async #fetchKeys() {
    const res = await send(this.#gateway + "/v1/keys", "", KEYS, undefined, this.#timeoutMs);
    const keys = classify(res, KEYS);
    if (keys === null) throw new H5AccessError("KEY_CONFIG");
    core("KEY_CONFIG", () => checkKeyConfig(keys));
    this.#keys = keys;
  }

  /**
   * Seals with `seal(keys)` (a wasm Pending), posts it on `channel` and returns the answer's
   * body with the Pending that opens it. On the RFC 9458 §5.3 stale-key signal: one refresh of
   * the key configuration and one retry in a new encapsulation (new enc, new request id).
   */
  async #post(channel, seal) {
    for (let refreshed = false; ; refreshed = true) {
      const pending = core("INVALID_ARGUMENT", () => seal(this.#keys));
      let body;
      try {
        const res = await send(
          this.#gateway + "/v1/" + channel,
          media(channel, "req"),
          media(channel, "res"),
          pending.request(),
          this.#timeoutMs,
        );
        body = classify(res, media(channel, "res"));
      } finally {
        if (body == null) pending.free();
      }
      if (body !== null) return [pending, body];
      if (refreshed) throw new H5AccessError("KEY_CONFIG");
      await this.#fetchKeys();
    }
  }

  /**
   * Exchanges the access token (AT) for a session on `options.product`: seals it to the
   * gateway key, posts it to `/v1/exchange` and opens the answer. Never retried except once
   * after a stale-key signal. Rejects with H5AccessError (AT_MISSING, AT_EXPIRED, AT_USED,
   * AT_REJECTED, REPLAYED, CLOCK_SKEW, NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE,
   * DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR, INVALID_ARGUMENT,
   * UNSUPPORTED_BROWSER). AT_REJECTED without gatewayCode, before any request: an AT that is
   * not 1..2048 printable ASCII characters. UNSUPPORTED_BROWSER: crypto.getRandomValues failed.
   */
  async exchange(accessToken, options) {
    if (typeof accessToken !== "string" || accessToken === "") throw new H5AccessError("AT_MISSING");
    const product = options !== null && typeof options === "object" ? options.product : undefined;
    if (typeof product !== "string") throw invalid("product");
    let pending, body;
    try {
      [pending, body] = await this.#post("exchange", (keys) =>
        sealExchange(keys, accessToken, product, Date.now() / 1000),
      );
    } catch (e) {
      // The core refuses a bad product name with a bare INVALID_ARGUMENT.
      throw naming(e, "product");
    }
    const inner = core("BAD_RESPONSE", () => pending.openExchange(body));
    let page;
    try {
      page = JSON.parse(inner.takePage());
    } catch {
      // Not JSON: refused below.
    }
    if (page === null || typeof page !== "object" || Array.isArray(page)) {
      inner.free();
      throw new H5AccessError("BAD_RESPONSE");
    }
    return new H5Session(PRIVATE, (channel, seal) => this.#post(channel, seal), inner, page);
  }
}

/** A session opened by `H5Client.exchange`: the product page data and sealed service calls. */
export class H5Session {
  #post;
  #inner;
  #page;
  #expiresAt;

  constructor(token, post, inner, page) {
    if (token !== PRIVATE) throw new TypeError("use H5Client.exchange");
    this.#post = post;
    this.#inner = inner;
    this.#page = page;
    this.#expiresAt = inner.exp * 1000;
  }

  /** The product page's rendering data, as `JSON.parse` gives it (the same object each time). */
  get page() {
    return this.#page;
  }

  /** When the session's VT expires: milliseconds since the Unix epoch, like `Date.now()`. */
  get expiresAt() {
    return this.#expiresAt;
  }

  /** Whether `close()` was called. */
  get closed() {
    return this.#inner === null;
  }

  /**
   * Calls `service` with `body` (any JSON value; `undefined` is sent as `{}`), sealed and bound
   * to this session; resolves to the service's decrypted JSON answer. Rejects with H5AccessError
   * (SESSION_CLOSED, VT_EXPIRED, VT_REJECTED, REPLAYED, CLOCK_SKEW, SERVICE_ERROR, RATE_LIMITED,
   * NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR,
   * INVALID_ARGUMENT, UNSUPPORTED_BROWSER). Bodies up to 512 KiB are sealed; the reference
   * gateway refuses requests over 64 KiB (HTTP_STATUS 413, gatewayCode TOO_LARGE).
   */
  async call(service, body) {
    if (this.#inner === null) throw new H5AccessError("SESSION_CLOSED");
    let text;
    try {
      text = body === undefined ? "{}" : JSON.stringify(body);
    } catch {
      // A BigInt or a cycle: refused below.
    }
    if (typeof service !== "string") throw invalid("service");
    if (typeof text !== "string") throw invalid("body");
    let pending, answer;
    try {
      [pending, answer] = await this.#post("call", (keys) => {
        if (this.#inner === null) throw "SESSION_CLOSED";
        return this.#inner.sealCall(keys, service, text, Date.now() / 1000);
      });
    } catch (e) {
      // Closed meanwhile: that is the answer, whatever the gateway or the network did.
      if (this.#inner === null) throw new H5AccessError("SESSION_CLOSED");
      // The core refuses a bad service name or a body over 512 KiB with a bare INVALID_ARGUMENT.
      throw naming(e, new TextEncoder().encode(text).length > MAX_BODY ? "body" : "service");
    }
    if (this.#inner === null) {
      pending.free();
      throw new H5AccessError("SESSION_CLOSED");
    }
    const json = core("BAD_RESPONSE", () => pending.openCall(answer));
    try {
      return JSON.parse(json);
    } catch {
      throw new H5AccessError("BAD_RESPONSE");
    }
  }

  /**
   * Zeroizes the session secret and the VT (in the wasm). Later calls reject with
   * SESSION_CLOSED; a call in flight rejects with SESSION_CLOSED instead of resolving. Idempotent.
   */
  close() {
    if (this.#inner !== null) {
      this.#inner.free();
      this.#inner = null;
      scrubStack();
    }
  }

  /** Same as `close()`. */
  free() {
    this.close();
  }
}

if (typeof Symbol.dispose === "symbol") H5Session.prototype[Symbol.dispose] = H5Session.prototype.close;
