// A static file server for the packaging test, with the README's Content-Security-Policy.
// Usage: node serve.mjs DIR GATEWAY_ORIGIN [EXTRA_CONNECT_SRC]  → prints "serving http://127.0.0.1:PORT".
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, normalize, extname } from "node:path";

const [dir, gateway, extra] = process.argv.slice(2);
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
const csp = `default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ${gateway}${extra ? " " + extra : ""}`;
createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  const file = join(dir, path.endsWith("/") ? path + "index.html" : path);
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "content-security-policy": csp });
    res.end(body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  }
}).listen(0, "127.0.0.1", function () {
  console.log(`serving http://127.0.0.1:${this.address().port}`);
});
