// Checks CONTRIBUTING.md "How the modules depend on each other": no two files under src/ import
// each other, directly or through a loop. Each file's module paths (`crate::…`, `super::…`,
// `self::…`, and a child module's bare name) are resolved to the file that defines the longest
// matching module; comments and the trailing `#[cfg(test)] mod tests` are ignored. Prints the
// number of files and edges, or every loop found (exit 1). IMPORTS_VERBOSE=1 lists every edge.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("../src/", import.meta.url).pathname;
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".rs")) files.push(p);
  }
})(root);

// Module path of each file: src/lib.rs = [], src/a/mod.rs = [a], src/a/b.rs = [a, b].
const modOf = new Map();
const fileOf = new Map();
for (const f of files) {
  const parts = relative(root, f).replace(/\.rs$/, "").split("/");
  if (parts.at(-1) === "mod" || parts.at(-1) === "lib") parts.pop();
  modOf.set(f, parts);
  fileOf.set(parts.join("::"), f);
}

function resolve(segments) {
  for (let n = segments.length; n >= 0; n--) {
    const f = fileOf.get(segments.slice(0, n).join("::"));
    if (f !== undefined) return f;
  }
  return undefined;
}

const edges = new Map(files.map((f) => [f, new Set()]));
for (const f of files) {
  let text = readFileSync(f, "utf8");
  const tests = text.search(/#\[cfg\(test\)\]\s*mod tests\b/);
  if (tests >= 0) text = text.slice(0, tests);
  text = text.replace(/\/\/.*$/gm, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const here = modOf.get(f);
  const children = new Set(
    [...fileOf.keys()]
      .map((k) => k.split("::"))
      .filter((k) => k.length === here.length + 1 && k.slice(0, -1).join("::") === here.join("::"))
      .map((k) => k.at(-1)),
  );
  // `use a::{b, c::d}` is read as the paths a::b and a::c::d (one level of braces is enough here).
  text = text.replace(/\b([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)::\{([^{}]*)\}/g, (_, head, list) =>
    list.split(",").map((item) => `${head}::${item.trim().split(/\s/)[0]}`).join(" "),
  );
  for (const m of text.matchAll(/(?<![\w:$])((?:[a-z_][a-z0-9_]*::)+[A-Za-z_][A-Za-z0-9_]*)/g)) {
    const segs = m[1].split("::");
    let base;
    if (segs[0] === "crate") base = segs.slice(1);
    else if (segs[0] === "super") {
      let up = here.slice();
      while (segs[0] === "super") { up = up.slice(0, -1); segs.shift(); }
      base = [...up, ...segs];
    } else if (segs[0] === "self") base = [...here, ...segs.slice(1)];
    else if (children.has(segs[0])) base = [...here, ...segs];
    else continue;
    const target = resolve(base);
    if (target !== undefined && target !== f) edges.get(f).add(target);
  }
}

// Loops: strongly connected components of more than one file (Tarjan).
let index = 0;
const idx = new Map(), low = new Map(), stack = [], on = new Set(), loops = [];
function visit(v) {
  idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
  for (const w of edges.get(v)) {
    if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const scc = [];
    let w;
    do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
    if (scc.length > 1) loops.push(scc);
  }
}
for (const f of files) if (!idx.has(f)) visit(f);

const rel = (f) => relative(join(root, ".."), f);
const count = [...edges.values()].reduce((n, s) => n + s.size, 0);
if (loops.length) {
  for (const scc of loops) {
    console.error(`import loop among: ${scc.map(rel).join(", ")}`);
    for (const f of scc) for (const t of edges.get(f)) if (scc.includes(t)) console.error(`  ${rel(f)} -> ${rel(t)}`);
  }
  process.exit(1);
}
if (process.env.IMPORTS_VERBOSE) for (const [f, s] of edges) for (const t of s) console.log(`${rel(f)} -> ${rel(t)}`);
console.log(`imports: ${files.length} files under src/, ${count} file-to-file imports, no loops`);
