// The size budget of what an H5 page downloads: pkg's .wasm plus its JS (wasm-bindgen glue, the
// package entry and the runtime snippet), each compressed alone with gzip -9 and brotli q11, summed.
// Deterministic (Node's zlib); fails above the budget. Usage: node scripts/size-check.mjs [budget]
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const budget = Number(process.argv[2] ?? 64000);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(wasm|js)$/.test(name)) files.push(p);
  }
})("pkg");

let raw = 0, gz = 0, br = 0;
for (const f of files) {
  const bytes = readFileSync(f);
  const g = gzipSync(bytes, { level: 9 }).length;
  const b = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).length;
  raw += bytes.length; gz += g; br += b;
  console.log(`${f.padEnd(52)} raw ${String(bytes.length).padStart(7)}  gzip ${String(g).padStart(6)}  brotli ${String(b).padStart(6)}`);
}
console.log(`${"total (.wasm + JS)".padEnd(52)} raw ${String(raw).padStart(7)}  gzip ${String(gz).padStart(6)}  brotli ${String(br).padStart(6)}`);
if (gz > budget) {
  console.error(`size budget exceeded: ${gz} bytes gzip -9 > ${budget}`);
  process.exit(1);
}
console.log(`size budget ok: ${gz} bytes gzip -9 <= ${budget}`);
