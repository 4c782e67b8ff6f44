// Bundles seal-export.mjs (hpke-js: one HPKE seal + export) with esbuild, minified, and prints
// its size raw, gzip -9 and brotli -q 11 as JSON. Also bundles exchange.mjs for the browser
// speed page. Usage: node ref-size.mjs <out-dir>
import { build } from "esbuild";
import { readFileSync, mkdirSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "dist");
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, format: "esm", target: "es2020", platform: "browser", legalComments: "none", logLevel: "error" };
await build({ ...common, entryPoints: [join(here, "seal-export.mjs")], outfile: join(out, "hpke-seal-export.min.js") });
await build({ ...common, entryPoints: [join(here, "exchange.mjs")], outfile: join(out, "hpke-exchange.min.js") });

export function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip9: gzipSync(bytes, { level: 9 }).length,
    brotli11: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}
const pkg = (name) => JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
const bundle = readFileSync(join(out, "hpke-seal-export.min.js"));
console.log(JSON.stringify({
  what: "hpke-js one HPKE seal + export, esbuild --bundle --minify --format=esm --target=es2020",
  versions: {
    "@hpke/core": pkg("@hpke/core"),
    "@hpke/chacha20poly1305": pkg("@hpke/chacha20poly1305"),
    "@hpke/dhkem-x25519": pkg("@hpke/dhkem-x25519"),
    "@hpke/common": pkg("@hpke/common"),
    esbuild: pkg("esbuild"),
  },
  "hpke-seal-export.min.js": sizes(bundle),
}, null, 2));
