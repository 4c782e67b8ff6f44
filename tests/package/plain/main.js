// Plain ESM, no bundler: the installed package's entry by path.
import { run } from "./app.js";
if (location.search.includes("broken-streaming")) {
  // As in some Android WebViews / pages whose console wraps fetch: streaming compile fails.
  WebAssembly.instantiateStreaming = () => Promise.reject(new TypeError("broken streaming"));
}
const H5 = await import("./node_modules/h5-access/pkg/index.js");
await run(H5);
