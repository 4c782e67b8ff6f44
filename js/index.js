// The npm package h5-access (bundled into pkg/index.js by scripts/build-sdk.sh): the loader.
// Everything else is the wasm (src/sdk over the client core src/client): HTTP through gloo-net,
// the timeout, reading answers, the one stale-key retry, the error codes, and the public classes
// H5Client and H5Session, re-exported here as wasm-bindgen made them. What stays in JavaScript,
// and why:
// * loading the wasm (the webview-safe instantiateStreaming fallback): it runs before the wasm;
// * takeAccessToken: synchronous and usable before the wasm is loaded (README), so a page can
//   drop the AT from the URL at once, whatever loading then does;
// * the H5AccessError class: loading and takeAccessToken throw it before any wasm exists (with
//   the messages of those three codes only); the wasm makes its rejections with it
//   (setErrorClass), handing it every field, message included, as one object;
// * starting `GET {gateway}/v1/keys` (when there is no keyConfig) while the wasm loads: it must
//   start before the wasm exists; the wasm reads and checks its answer.
import initWasm, { H5Client, H5Session, setErrorClass } from "./h5_access.js";

export { H5Client, H5Session };

/**
 * The messages of the three codes this file raises itself, before or without the wasm; every
 * other code, and every rejection of H5Client and H5Session, is the wasm's (src/client/error.rs),
 * which hands over all fields, message included.
 */
const OWN = {
  AT_MISSING: "no access token",
  UNSUPPORTED_BROWSER: "this browser lacks WebAssembly or crypto.getRandomValues",
  LOAD_FAILED: "the SDK's WebAssembly could not be loaded or compiled",
};

/**
 * Every error of the SDK. `code` is stable; `message` never holds a token or secret. Made from
 * one object of fields `{ code, message, status, gatewayCode, argument, retryable, reason }`: the
 * wasm's (serde-wasm-bindgen, src/sdk `ErrorFields`; the wasm decided and filtered each one), or
 * this file's for its own codes.
 */
export class H5AccessError extends Error {
  constructor(fields) {
    // Own properties only: a page's polluted Object.prototype never supplies a field, and the
    // fields are defined, not assigned, so no inherited setter sees them.
    const f = (k) => (Object.prototype.hasOwnProperty.call(fields, k) ? fields[k] : undefined);
    super(f("message"));
    const set = (k, value) => Object.defineProperty(this, k, { value, writable: true, enumerable: true, configurable: true });
    set("name", "H5AccessError");
    /** Stable code to branch on (README "Error codes"). */
    set("code", f("code"));
    /** The HTTP status, for HTTP_STATUS (and LOAD_FAILED reason HTTP_STATUS). */
    set("status", f("status"));
    /** The gateway's own code, when it gave one that looks like one. */
    set("gatewayCode", f("gatewayCode"));
    /** For INVALID_ARGUMENT: which argument, when known (a fixed name, never a value). */
    set("argument", f("argument"));
    /** Whether the same operation may be tried again (an exchange: with the same AT). */
    set("retryable", f("retryable") === true);
    /** A finer reason, when there is one. */
    set("reason", f("reason"));
  }
}

/** One of this file's own errors: `code` of OWN. */
const own = (code, reason, retryable = false, status = undefined) =>
  new H5AccessError({ code, message: OWN[code], status, gatewayCode: undefined, argument: undefined, retryable, reason });

// ---- loading ----

/** LOAD_FAILED for `reason` (retryable unless a CSP refuses WebAssembly: trying again cannot help). */
const loadFailed = (reason, status) => own("LOAD_FAILED", reason, reason !== "CSP", status);

let ready = null;
let aborter = null;

/** `signal`'s fetch of the .wasm and its instantiation; rejects with LOAD_FAILED (or UNSUPPORTED_BROWSER). */
async function load(source, signal) {
  if (
    typeof WebAssembly !== "object" ||
    WebAssembly === null ||
    typeof WebAssembly.instantiate !== "function" ||
    typeof globalThis.crypto !== "object" ||
    globalThis.crypto === null ||
    typeof globalThis.crypto.getRandomValues !== "function"
  ) {
    throw own("UNSUPPORTED_BROWSER");
  }
  // A CSP without 'wasm-unsafe-eval' refuses compiling: the browser reports it as a
  // securitypolicyviolation whose blockedURI is "wasm-eval" (where it reports it at all).
  let refused = false;
  const onViolation = (e) => {
    if (e && e.blockedURI === "wasm-eval") refused = true;
  };
  const target = typeof globalThis.addEventListener === "function" ? globalThis : null;
  target?.addEventListener("securitypolicyviolation", onViolation);
  try {
    const input = source === undefined ? new URL("./h5_access_bg.wasm", import.meta.url) : source;
    if (typeof input === "string" || input instanceof URL) {
      let res;
      let ok;
      try {
        res = await fetch(input, { credentials: "same-origin", signal });
        ok = res.ok; // throws for what is not a Response (a fetch wrapper's bare Proxy)
      } catch {
        // Offline, refused, CORS, aborted, or no usable Response: the browser does not say which.
        throw loadFailed("NETWORK");
      }
      // A 404 or another error page: reported as such, never downloaded twice or compiled.
      if (!ok) throw loadFailed("HTTP_STATUS", res.status);
      try {
        // Streaming compile first (the glue uses instantiateStreaming for application/wasm)...
        // Some Android WebViews, and pages whose debugging console wraps fetch, break it even
        // when the server sends application/wasm...
        await initWasm({ module_or_path: res.clone() });
        setErrorClass(H5AccessError);
        return;
      } catch {
        // ...so on any failure instantiate the same response's bytes.
      }
      try {
        source = await res.arrayBuffer();
      } catch {
        throw loadFailed("NETWORK");
      }
    }
    try {
      // Bytes or a compiled module: WebAssembly.instantiate, no fetch.
      await initWasm({ module_or_path: source });
    } catch {
      // Not WebAssembly (an HTML page served in its place): COMPILE. A valid module whose
      // compiling is refused (a CSP without 'wasm-unsafe-eval'): CSP. The violation event is
      // dispatched as a task of its own: let it arrive.
      await new Promise((resolve) => setTimeout(resolve, 0));
      let valid = false;
      try {
        valid = !(source instanceof WebAssembly.Module) && WebAssembly.validate(source);
      } catch {
        // not bytes
      }
      throw loadFailed(refused || valid ? "CSP" : "COMPILE");
    }
    setErrorClass(H5AccessError);
  } finally {
    target?.removeEventListener("securitypolicyviolation", onViolation);
  }
}

/** `options.timeoutMs` when it is one `H5Client.create` accepts, else its default (10 s). */
const timeoutOf = (options) => {
  const t = read(options, "timeoutMs");
  return typeof t === "number" && t > 0 && t <= 120000 ? t : 10000;
};

/**
 * `options[name]`, or undefined when `options` is not an object or reading it throws (a revoked
 * Proxy, a throwing getter): the loader never throws on options; the wasm reads them again and
 * reports what is wrong (INVALID_ARGUMENT).
 */
function read(options, name) {
  try {
    return options !== null && typeof options === "object" ? options[name] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads and instantiates the wasm once (later calls return the same promise; a failed load can
 * be retried). `H5Client.create` calls it, so calling it yourself is only needed to preload or
 * to pass the .wasm from elsewhere. Rejects with LOAD_FAILED `reason` "TIMEOUT" when it has not
 * loaded within `options.timeoutMs` (default 10000): the download is then aborted, and the next
 * call starts a new one.
 */
export function init(source, options) {
  if (ready === null) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const mine = load(source, controller?.signal);
    ready = mine;
    aborter = controller;
    mine.catch(() => {
      if (ready === mine) ready = null;
    });
  }
  const loading = ready;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (ready === loading) {
        aborter?.abort();
        ready = null;
      }
      reject(loadFailed("TIMEOUT"));
    }, timeoutOf(options));
    loading.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

// ---- the access token ----

/** The sessionStorage key marking that this tab's page took an AT (no token in it). */
const TAKEN = "h5-access:at-taken";

/**
 * Whether this document came from a reload or a back/forward navigation (Navigation Timing
 * `type`) of a tab whose page took an AT before (sessionStorage mark, when storage works): the
 * AT was spent by the page before, not missing from the link.
 */
function reloaded() {
  let type;
  try {
    type = globalThis.performance.getEntriesByType("navigation")[0].type;
  } catch {
    return false;
  }
  if (type !== "reload" && type !== "back_forward") return false;
  try {
    const mark = globalThis.sessionStorage.getItem(TAKEN);
    return mark === "1";
  } catch {
    return true;
  }
}

/**
 * Reads the access token from `location.hash` (`#at=<token>`, other `&`-separated parameters
 * kept), removes it from the URL and replaces the current history entry so that neither
 * `location` nor `history` holds it any more. An `at` in the query is never read (a query goes
 * to servers and into Referer) but is removed too. Throws H5AccessError AT_MISSING if absent.
 */
export function takeAccessToken(name = "at") {
  const loc = globalThis.location;
  if (!loc || typeof loc.hash !== "string") throw own("AT_MISSING");
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
  if (token === null && !inQuery) {
    throw own("AT_MISSING", reloaded() ? "RELOADED" : undefined);
  }
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
  if (!token) throw own("AT_MISSING", reloaded() ? "RELOADED" : undefined);
  try {
    globalThis.sessionStorage.setItem(TAKEN, "1");
  } catch {
    // no storage (sandboxed, disabled): the Navigation Timing type alone decides
  }
  return token;
}

// ---- the public classes (made by the wasm) ----

// H5Client.create loads the wasm first (on first use), then runs the wasm's create.
const create = H5Client.create;

/**
 * Without a `keyConfig`: `GET {gateway}/v1/keys` started now, as the wasm sends it (src/client
 * `HttpRequest::keys`, src/sdk/fetch.rs), so that it runs while the .wasm loads rather than
 * after. The wasm takes its answer (if its URL is the one it would request) and reads and checks
 * it like its own; `create` reports its failure.
 */
function prefetchKeys(options) {
  if (options === null || typeof options !== "object") return undefined;
  const gateway = read(options, "gateway");
  if (read(options, "keyConfig") !== undefined || typeof gateway !== "string") return undefined;
  let url;
  try {
    url = new URL(gateway);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol) || /[?#]/.test(gateway) || url.username || url.password) return undefined;
  try {
    const early = Promise.resolve(
      fetch(url.href.replace(/\/+$/, "") + "/v1/keys", {
        headers: { accept: "application/ohttp-keys" },
        cache: "no-store",
        credentials: "omit",
        redirect: "error",
      }),
    );
    early.catch(() => {}); // reported by create, never as an unhandled rejection
    return early;
  } catch {
    return undefined; // a fetch wrapper that throws: the wasm sends its own request
  }
}

/**
 * Creates a client of `options.gateway` (README). Rejects with H5AccessError (INVALID_ARGUMENT,
 * KEY_CONFIG, NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, UNSUPPORTED_BROWSER, LOAD_FAILED).
 */
H5Client.create = async function (options) {
  const keysAt = Date.now(); // when the early keys request is sent: the list's max-age counts from it
  const keys = prefetchKeys(options);
  await init(read(options, "wasm"), options);
  return create(options, keys, keysAt);
};
// `free()` and `[Symbol.dispose]()` are `close()`: the session stays readable (`page`, `closed`);
// its wasm object is released when garbage-collected. Symbol.dispose only where it exists
// (WebKit has none).
H5Session.prototype.free = H5Session.prototype.close;
if (typeof Symbol.dispose === "symbol") H5Session.prototype[Symbol.dispose] = H5Session.prototype.close;
