// The JavaScript half of the h5-access SDK: the error class, reading the access token from the
// URL, and the one HTTP helper the wasm calls. It is imported by the wasm-bindgen glue as a
// snippet (src/sdk/js.rs) and re-exported by the package entry (js/index.js), so there is exactly
// one H5AccessError class at run time. Nothing here sees a secret except takeAccessToken, which
// hands the AT to its caller and removes it from the URL and the current history entry.

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
  GATEWAY_ERROR: "the gateway failed to process the request",
  INVALID_ARGUMENT: "invalid argument",
  UNSUPPORTED_BROWSER: "this browser lacks WebAssembly or crypto.getRandomValues",
};

/** Every error of the SDK. `code` is stable; `message` never holds a token or secret. */
export class H5AccessError extends Error {
  constructor(code, status, gatewayCode) {
    const known = Object.prototype.hasOwnProperty.call(MESSAGES, code);
    super(known ? MESSAGES[code] : MESSAGES.BAD_RESPONSE);
    this.name = "H5AccessError";
    this.code = known ? code : "BAD_RESPONSE";
    this.status = typeof status === "number" && status > 0 ? status : undefined;
    this.gatewayCode = typeof gatewayCode === "string" ? gatewayCode : undefined;
  }
}

/** Called by the wasm (src/sdk/error.rs); status 0 means none. */
export function newH5AccessError(code, status, gatewayCode) {
  return new H5AccessError(code, status, gatewayCode);
}

/**
 * Reads the access token from `location.hash` (`#at=<token>`, other `&`-separated parameters
 * kept), removes it from the URL and replaces the current history entry so that neither
 * `location` nor `history` holds it any more. Throws H5AccessError AT_MISSING if absent.
 */
export function takeAccessToken(name = "at") {
  const loc = globalThis.location;
  if (!loc || typeof loc.hash !== "string") throw new H5AccessError("AT_MISSING");
  const parts = loc.hash.replace(/^#/, "").split("&");
  const prefix = name + "=";
  let token = null;
  const rest = [];
  for (const part of parts) {
    if (part.startsWith(prefix)) {
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
  if (token === null) throw new H5AccessError("AT_MISSING");
  const url = loc.pathname + loc.search + (rest.length ? "#" + rest.join("&") : "");
  let replaced = false;
  try {
    const h = globalThis.history;
    if (h && typeof h.replaceState === "function") {
      h.replaceState(h.state, "", url);
      replaced = true;
    }
  } catch {
    // e.g. a sandboxed document: fall through.
  }
  if (!replaced || loc.hash.indexOf(prefix) !== -1) {
    // A hash-only location.replace does not reload and replaces the current entry.
    loc.replace(url);
  }
  if (token === "") throw new H5AccessError("AT_MISSING");
  return token;
}

/**
 * One HTTP exchange for the wasm: resolves to { status, type, body: Uint8Array } for any HTTP
 * status, rejects with H5AccessError NETWORK or TIMEOUT. The timeout covers the body too.
 */
export async function h5Fetch(method, url, contentType, accept, body, timeoutMs) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const cleanups = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (controller) controller.abort();
  }, timeoutMs);
  const timeout = new Promise((_, reject) => {
    // Browsers without AbortController still get a timeout (the request is left to finish).
    const id = setTimeout(() => reject(new H5AccessError("TIMEOUT")), timeoutMs + 50);
    cleanups.push(() => clearTimeout(id));
  });
  timeout.catch(() => {});
  const init = {
    method,
    headers: contentType ? { "content-type": contentType, accept } : { accept },
    body: body || undefined,
    cache: "no-store",
    credentials: "omit",
    redirect: "error",
    signal: controller ? controller.signal : undefined,
  };
  try {
    const work = (async () => {
      const res = await fetch(url, init);
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { status: res.status | 0, type: res.headers.get("content-type") || "", body: bytes };
    })();
    return await Promise.race([work, timeout]);
  } catch (e) {
    if (e instanceof H5AccessError) throw e;
    throw new H5AccessError(timedOut ? "TIMEOUT" : "NETWORK");
  } finally {
    clearTimeout(timer);
    for (const f of cleanups) f();
  }
}
