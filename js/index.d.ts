// Types of the package entry (copied to pkg/index.d.ts by scripts/build-sdk.sh). The classes
// and data types come from the wasm-bindgen output; the error class and takeAccessToken are
// written in JavaScript (js/runtime.js) and typed here.
export { H5Client, H5Session } from "./h5_access.js";
export type {
  ExchangeOptions,
  H5ClientOptions,
  JsonObject,
  JsonValue,
  WasmSource,
} from "./h5_access.js";
import type { WasmSource } from "./h5_access.js";

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
  | "GATEWAY_ERROR"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED_BROWSER";

/** Every failure of the SDK rejects with this. The message never holds a token or secret. */
export declare class H5AccessError extends Error {
  private constructor();
  readonly name: "H5AccessError";
  /** Stable code to branch on. */
  readonly code: H5AccessErrorCode;
  /** The HTTP status, for HTTP_STATUS. */
  readonly status: number | undefined;
  /** The gateway's own code (e.g. "PRODUCT_NOT_ALLOWED", "VT_NOT_BOUND"), when it gave one. */
  readonly gatewayCode: string | undefined;
}

/**
 * Reads the access token from `location.hash` (`#at=<token>`; other `&`-separated parameters
 * are kept), removes it from the URL and from the current history entry, and returns it.
 * Synchronous and usable before the wasm is loaded. Throws H5AccessError AT_MISSING when there
 * is none (so a second call throws).
 * @param name the hash parameter, default "at".
 */
export declare function takeAccessToken(name?: string): string;

/**
 * Loads the wasm once; `H5Client.create` calls it. Rejects with H5AccessError
 * UNSUPPORTED_BROWSER (no WebAssembly or crypto.getRandomValues), NETWORK or HTTP_STATUS.
 * @param source where the .wasm is; default: next to the package's JS.
 */
export declare function init(source?: WasmSource): Promise<void>;
