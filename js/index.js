// Package entry of h5-access (copied to pkg/index.js by scripts/build-sdk.sh, which fills in
// the path of the runtime snippet). Loads the wasm on first use, without depending on
// WebAssembly.instantiateStreaming: some Android WebViews, and pages whose debugging console
// wraps fetch, break it even when the server sends application/wasm.
import initWasm, { H5Client, H5Session } from "./h5_access.js";
import { H5AccessError, takeAccessToken } from "__RUNTIME__";

let ready = null;

function supported() {
  return (
    typeof WebAssembly === "object" &&
    WebAssembly !== null &&
    typeof WebAssembly.instantiate === "function" &&
    typeof globalThis.crypto === "object" &&
    globalThis.crypto !== null &&
    typeof globalThis.crypto.getRandomValues === "function"
  );
}

async function load(source) {
  if (!supported()) throw new H5AccessError("UNSUPPORTED_BROWSER");
  const input = source === undefined ? new URL("./h5_access_bg.wasm", import.meta.url) : source;
  if (typeof input !== "string" && !(input instanceof URL)) {
    // Bytes or a compiled module: WebAssembly.instantiate, no fetch.
    await initWasm({ module_or_path: input });
    return;
  }
  try {
    // Streaming compile first (the glue uses instantiateStreaming when it can)...
    await initWasm({ module_or_path: input });
    return;
  } catch {
    // ...and if that fails for any reason, fetch the bytes and instantiate them.
  }
  let bytes;
  try {
    const res = await fetch(input, { credentials: "same-origin" });
    if (!res.ok) throw new H5AccessError("HTTP_STATUS", res.status);
    bytes = await res.arrayBuffer();
  } catch (e) {
    throw e instanceof H5AccessError ? e : new H5AccessError("NETWORK");
  }
  try {
    await initWasm({ module_or_path: bytes });
  } catch {
    throw new H5AccessError("UNSUPPORTED_BROWSER");
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

// H5Client.create loads the wasm first: the class stays the one wasm-bindgen generated, so
// `instanceof H5Client` holds for what `create` resolves to.
const createLoaded = H5Client.create;
Object.defineProperty(H5Client, "create", {
  configurable: true,
  writable: true,
  value: async function create(options) {
    await init(options && typeof options === "object" ? options.wasm : undefined);
    return createLoaded.call(H5Client, options);
  },
});

export { H5Client, H5Session, H5AccessError, takeAccessToken };
