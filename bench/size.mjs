// Shipped bytes of the files given (each compressed alone: gzip -9, brotli -q 11, Node zlib),
// and their total, as JSON. Usage: node bench/size.mjs <label=path>...
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const files = {};
const total = { raw: 0, gzip9: 0, brotli11: 0 };
for (const arg of process.argv.slice(2)) {
  const [label, path] = arg.includes("=") ? arg.split("=", 2) : [arg, arg];
  const bytes = readFileSync(path);
  const s = {
    raw: bytes.length,
    gzip9: gzipSync(bytes, { level: 9 }).length,
    brotli11: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
  files[label] = s;
  for (const k of Object.keys(total)) total[k] += s[k];
}
console.log(JSON.stringify({ files, total }, null, 2));
