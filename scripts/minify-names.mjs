// Shortens the names by which the SDK's wasm and its wasm-bindgen JS glue find each other:
// binaryen's `wasm-opt --minify-imports-and-exports-and-modules` renames the wasm's imports,
// exports and import module and prints the mapping; this script applies that mapping to the glue
// (the import object's keys, its module key, and the glue's `wasm.<export>` reads).
// wasm-bindgen names each import `__wbg_<name>_<16 hex digits>`: about 60 bytes, in both files,
// for each of the ~85 imports (docs/BENCHMARKS.md has the figure).
//
// Every name must be found exactly where expected, and afterwards every import of the module must
// be a key of the glue and no old name may be left: otherwise this fails and the build stops.
//
// Usage: node scripts/minify-names.mjs <wasm-opt> <module.wasm> <glue.js> (both rewritten in place)
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const [wasmOpt, wasmPath, gluePath] = process.argv.slice(2);
const fail = (msg) => {
  console.error(`minify-names: ${msg}`);
  process.exit(1);
};
if (!wasmOpt || !wasmPath || !gluePath) fail("usage: minify-names.mjs <wasm-opt> <module.wasm> <glue.js>");

const oldModule = `./${basename(gluePath).replace(/\.js$/, "")}_bg.js`;
const before = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmPath)));
if (before.some((i) => i.module !== oldModule)) fail(`imports from a module other than ${oldModule}`);

const map = JSON.parse(
  execFileSync(wasmOpt, ["--minify-imports-and-exports-and-modules", wasmPath, "-o", wasmPath], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  }),
);
const after = new WebAssembly.Module(readFileSync(wasmPath));
const modules = [...new Set(WebAssembly.Module.imports(after).map((i) => i.module))];
if (modules.length !== 1) fail(`expected one import module after minifying, got ${modules.length}`);

const escape = (s) => s.replace(/[$]/g, "\\$&");
const key = (s) => JSON.stringify(s);
/** Replaces the single match of `re` in `glue` by `to`; fails unless there is exactly one. */
const once = (glue, re, to, what) => {
  const n = (glue.match(new RegExp(re.source, "gm")) ?? []).length;
  if (n !== 1) fail(`${what}: found ${n} times in the glue, expected once`);
  return glue.replace(re, to);
};

let glue = readFileSync(gluePath, "utf8");
glue = once(glue, new RegExp(`^(\\s*)${escape(key(oldModule))}: import0,$`, "m"), `$1${key(modules[0])}: import0,`, "the import module key");
for (const [module, name, to] of map.imports) {
  if (module !== oldModule) fail(`import ${name} from ${module}`);
  glue = once(glue, new RegExp(`^(\\s*)${escape(name)}: function\\(`, "m"), `$1${key(to)}: function(`, `import ${name}`);
}
for (const [name, to] of map.exports) {
  const re = new RegExp(`\\bwasm\\.${escape(name)}(?![\\w$])`, "g");
  // Exports the glue never reads (the table and closures wasm-bindgen keeps for itself) are fine.
  glue = glue.replace(re, `wasm[${key(to)}]`);
}

// Checks: every import of the new module is a key of the glue; no old name is left.
for (const i of WebAssembly.Module.imports(after)) {
  if (!glue.includes(`${key(i.name)}: function(`)) fail(`import ${i.name} has no function in the glue`);
}
for (const [, name] of map.imports) if (glue.includes(name)) fail(`old import name ${name} left in the glue`);
for (const [name] of map.exports) {
  if (new RegExp(`\\bwasm\\.${escape(name)}(?![\\w$])`).test(glue)) fail(`old export name ${name} left in the glue`);
}
writeFileSync(gluePath, glue);
console.log(`minify-names: ${map.imports.length} imports, ${map.exports.length} exports renamed`);
