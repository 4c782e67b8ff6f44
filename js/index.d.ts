// Types of the package h5-access (copied to pkg/index.d.ts by scripts/build-sdk.sh). Written by
// hand, tighter than wasm-bindgen's generated ones (which type every JS value as `any`):
// H5Client and H5Session are the wasm's classes (src/sdk), H5AccessError, init and
// takeAccessToken are js/index.js. tests/js/types.test.mjs checks these declarations against
// the runtime exports (every export and class member, both ways).

/** A JSON value, as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object, as `JSON.parse` returns it. */
export interface JsonObject { [key: string]: JsonValue }

/** Where the `.wasm` comes from: a URL, or its bytes or compiled module. */
export type WasmSource = string | URL | BufferSource | WebAssembly.Module;

/** Options of `H5Client.create`. */
export interface H5ClientOptions {
  /**
   * The gateway's origin and optional base path, e.g. "https://gw.example.com" (no trailing
   * "/v1"): an absolute https: or http: URL without query, fragment or credentials.
   */
  gateway: string;
  /**
   * The gateway's initial key configuration: the `application/ohttp-keys` bytes of
   * `GET {gateway}/v1/keys` (RFC 9458 §3.2), as bytes or standard/URL-safe base64; `create`
   * then makes no request, and the configuration is pinned (never fetched again but on the
   * stale-key signal). Omitted: fetched from the gateway by `create` (sent while the `.wasm`
   * loads, not after) and cached by the client for its `Cache-Control: max-age` (from when the
   * request was sent; none, `no-store` or `no-cache`: 0): an exchange or call with an older
   * list fetches it once first, and fails with that request's error if it fails. Either way,
   * on the RFC 9458 §5.3 stale-key signal (422 `ohttp-key` problem) the client fetches
   * `GET {gateway}/v1/keys` once, replaces the configuration it holds (this one included) and
   * retries once; a second signal, or one in answer to a list fetched by the same operation,
   * is KEY_CONFIG. At most one keys request per operation.
   */
  keyConfig?: Uint8Array | string;
  /**
   * Timeout of each HTTP request in milliseconds, body included, and of loading the `.wasm`
   * (LOAD_FAILED reason TIMEOUT): over 0, at most 120000. Default 10000.
   */
  timeoutMs?: number;
  /** Where to load the `.wasm` from (default: next to the package's JS). Used by the first `create`. */
  wasm?: WasmSource;
}

/** Options of `H5Client.exchange`. */
export interface ExchangeOptions {
  /** The product whose page to open, e.g. "wealth-01": 1..64 of [A-Za-z0-9._-]. */
  product: string;
}

/** A client of one gateway. Create it with `await H5Client.create(options)`. */
export declare class H5Client {
  private constructor();
  /**
   * Creates a client of `options.gateway`, loading the wasm first. Without a
   * `keyConfig` it fetches `GET {gateway}/v1/keys` now. Rejects with H5AccessError
   * (INVALID_ARGUMENT, KEY_CONFIG, NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE,
   * UNSUPPORTED_BROWSER, LOAD_FAILED).
   */
  static create(options: H5ClientOptions): Promise<H5Client>;
  /**
   * Exchanges the access token (AT) for a session on `options.product`. Never retried except
   * once after a stale-key signal. Rejects with H5AccessError (AT_MISSING, AT_EXPIRED, AT_USED,
   * AT_REJECTED, REPLAYED, CLOCK_SKEW, NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE,
   * DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR, INVALID_ARGUMENT,
   * UNSUPPORTED_BROWSER). AT_REJECTED without gatewayCode, before any request: an AT that is
   * not 1..2048 printable ASCII characters. UNSUPPORTED_BROWSER: crypto.getRandomValues failed.
   */
  exchange(accessToken: string, options: ExchangeOptions): Promise<H5Session>;
}

/** A session opened by `H5Client.exchange`: the product page data and sealed service calls. */
export declare class H5Session {
  private constructor();
  /** The product page's rendering data, as `JSON.parse` gives it (the same object each time). */
  readonly page: JsonObject;
  /** When the session's VT expires: milliseconds since the Unix epoch, like `Date.now()`. */
  readonly expiresAt: number;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /**
   * Calls `service` with `body` (any JSON value; omitted: `{}`), sealed and bound to this
   * session; resolves to the service's decrypted JSON answer. Rejects with H5AccessError
   * (SESSION_CLOSED, VT_EXPIRED, VT_REJECTED, REPLAYED, CLOCK_SKEW, SERVICE_ERROR, RATE_LIMITED,
   * NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR,
   * INVALID_ARGUMENT, UNSUPPORTED_BROWSER).
   * Size: bodies (as JSON text) up to 512 KiB are sealed, larger ones are INVALID_ARGUMENT; but
   * the reference gateway refuses requests over 64 KiB, so with it the limit is ≈ 64 KiB (less
   * the session token and framing) and a larger body rejects with HTTP_STATUS, status 413,
   * gatewayCode "TOO_LARGE".
   */
  call(service: string, body?: JsonValue): Promise<JsonValue>;
  /**
   * Zeroizes the session secret and the VT (in wasm memory). Later calls reject with
   * SESSION_CLOSED; a call in flight rejects with SESSION_CLOSED instead of resolving. Idempotent.
   */
  close(): void;
  /** Same as `close()`. */
  free(): void;
  /** Same as `close()` (`using session = …`). */
  [Symbol.dispose](): void;
}

/** Every `H5AccessError.code` (README "Error codes"). */
export type H5AccessErrorCode =
  | "NETWORK"
  | "TIMEOUT"
  | "HTTP_STATUS"
  | "BAD_RESPONSE"
  | "DECRYPT_FAILED"
  | "KEY_CONFIG"
  | "AT_MISSING"
  | "AT_EXPIRED"
  | "AT_USED"
  | "AT_REJECTED"
  | "VT_EXPIRED"
  | "VT_REJECTED"
  | "SESSION_CLOSED"
  | "REPLAYED"
  | "CLOCK_SKEW"
  | "SERVICE_ERROR"
  | "RATE_LIMITED"
  | "GATEWAY_ERROR"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED_BROWSER"
  | "LOAD_FAILED";

/** Every failure of the SDK rejects with this. The message never holds a token or secret. */
export declare class H5AccessError extends Error {
  private constructor();
  readonly name: "H5AccessError";
  /** Stable code to branch on. */
  readonly code: H5AccessErrorCode;
  /** The HTTP status, for HTTP_STATUS (and for LOAD_FAILED reason HTTP_STATUS). */
  readonly status: number | undefined;
  /** The gateway's own code (e.g. "PRODUCT_NOT_ALLOWED", "VT_NOT_BOUND"), when it gave one. */
  readonly gatewayCode: string | undefined;
  /**
   * For INVALID_ARGUMENT: which argument was refused (a fixed name, never its value); undefined
   * for every other code.
   */
  readonly argument: H5AccessErrorArgument | undefined;
  /**
   * Whether the same operation may be tried again as it is; for an exchange, with the same AT
   * (the gateway did not use it). True for an HTTP error status (the gateway refuses before
   * decapsulating; a proxy's error page), a 200 of another media type (a captive portal), a fetch
   * that failed without an answer, RATE_LIMITED, any failure of `create` but INVALID_ARGUMENT,
   * KEY_CONFIG and UNSUPPORTED_BROWSER, and LOAD_FAILED but reason CSP. False once the gateway
   * may have acted: TIMEOUT and unreadable answers of an exchange or call, anything decrypted.
   */
  readonly retryable: boolean;
  /** A finer reason, when there is one (see H5AccessErrorReason). */
  readonly reason: H5AccessErrorReason | undefined;
}

/**
 * What `H5AccessError.reason` says: for LOAD_FAILED, why the .wasm did not load (HTTP_STATUS,
 * NETWORK, TIMEOUT, CSP, COMPILE; see `init`); NOT_GATEWAY for an HTTP_STATUS without a problem
 * document or a BAD_RESPONSE of another media type (the answer is not the gateway's: a proxy, a
 * captive portal's sign-in page); RELOADED for an AT_MISSING of a page reloaded or reached by
 * back/forward after it took its AT (Navigation Timing `type`): the AT was spent, not missing.
 */
export type H5AccessErrorReason = "HTTP_STATUS" | "NETWORK" | "TIMEOUT" | "CSP" | "COMPILE" | "NOT_GATEWAY" | "RELOADED";

/**
 * What `H5AccessError.argument` names for INVALID_ARGUMENT: the `create` options object or one of
 * its fields, `exchange`'s `product`, `call`'s `service` or `body` (not JSON-serialisable, or over
 * 512 KiB as JSON text).
 */
export type H5AccessErrorArgument = "options" | "gateway" | "timeoutMs" | "keyConfig" | "product" | "service" | "body";

/**
 * Reads the access token from `location.hash` (`#at=<token>`; other `&`-separated parameters
 * are kept), removes it from the URL and from the current history entry, and returns it. An
 * `at` in the query is not read but removed too. The browser's Navigation Timing entry keeps the
 * original URL: exchange the AT at once (README).
 * Synchronous and usable before the wasm is loaded. Throws H5AccessError AT_MISSING when there
 * is none (so a second call throws).
 * @param name the hash parameter, default "at".
 */
export declare function takeAccessToken(name?: string): string;

/**
 * Loads the wasm once; `H5Client.create` calls it (with its options). Rejects with H5AccessError
 * UNSUPPORTED_BROWSER (no WebAssembly or crypto.getRandomValues) or LOAD_FAILED, whose `reason`
 * says why: HTTP_STATUS (the .wasm URL answered an error status, `status` set; fetched once),
 * NETWORK (fetch failed: offline, refused, CORS, or a fetch wrapper gave no usable Response),
 * TIMEOUT (not loaded within `timeoutMs`; the download is aborted), CSP (compiling refused by a
 * CSP without 'wasm-unsafe-eval'), COMPILE (what was served is not WebAssembly).
 * @param source where the .wasm is; default: next to the package's JS.
 * @param options `timeoutMs` (over 0, at most 120000; otherwise, and by default, 10000).
 */
export declare function init(source?: WasmSource, options?: { timeoutMs?: number }): Promise<void>;
