// The hand-written types (pkg/index.d.ts, from js/index.d.ts) against what the package exports at
// run time: every exported name, every member of the classes the wasm defines (H5Client,
// H5Session) and of H5AccessError, in both directions, read with the TypeScript compiler API.
// wasm-bindgen's own plumbing (`__wrap`, `__destroy_into_raw`, `__wbg_ptr`) is not public API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import ts from "typescript";
import * as H5 from "../../pkg/index.js";

await H5.init(readFileSync(new URL("../../pkg/h5_access_bg.wasm", import.meta.url)));
const dts = ts.createSourceFile("index.d.ts", readFileSync(new URL("../../pkg/index.d.ts", import.meta.url), "utf8"), ts.ScriptTarget.Latest);

/** Declared value exports (classes, functions) and, per class, its static and instance members. */
const declared = { values: [], classes: {} };
for (const node of dts.statements) {
  const exported = node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  if (!exported) continue;
  if (ts.isFunctionDeclaration(node)) declared.values.push(node.name.text);
  if (ts.isClassDeclaration(node)) {
    const name = node.name.text;
    declared.values.push(name);
    const members = { statics: [], instance: [] };
    for (const m of node.members) {
      if (ts.isConstructorDeclaration(m) || !m.name) continue;
      const key = ts.isComputedPropertyName(m.name) ? `[${m.name.expression.getText(dts)}]` : m.name.text;
      const isStatic = m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
      (isStatic ? members.statics : members.instance).push(key);
    }
    declared.classes[name] = members;
  }
}
const internal = new Set(["constructor", "__wrap", "__destroy_into_raw", "length", "name", "prototype"]);
const sorted = (a) => [...a].sort();

test("every declared export exists and nothing undeclared is exported", () => {
  assert.deepEqual(sorted(Object.keys(H5)), sorted(declared.values));
  assert.deepEqual(sorted(declared.values), ["H5AccessError", "H5Client", "H5Session", "init", "takeAccessToken"]);
});

test("the wasm's classes have exactly the declared members", () => {
  for (const name of ["H5Client", "H5Session"]) {
    const C = H5[name];
    const statics = Object.getOwnPropertyNames(C).filter((k) => !internal.has(k));
    const instance = Object.getOwnPropertyNames(C.prototype).filter((k) => !internal.has(k));
    if (typeof Symbol.dispose === "symbol" && Object.hasOwn(C.prototype, Symbol.dispose)) instance.push("[Symbol.dispose]");
    assert.deepEqual(sorted(statics), sorted(declared.classes[name].statics), `${name} statics`);
    // H5Client's wasm-bindgen free() and dispose release the client; not part of the typed API.
    const extra = name === "H5Client" ? ["free", "[Symbol.dispose]"] : [];
    assert.deepEqual(sorted(instance.filter((k) => !extra.includes(k))), sorted(declared.classes[name].instance), `${name} members`);
  }
});

test("H5AccessError's declared fields are on its instances", () => {
  const e = new H5.H5AccessError({ code: "HTTP_STATUS", message: "m", status: 503, gatewayCode: "INTERNAL", retryable: true });
  for (const k of declared.classes.H5AccessError.instance) assert.ok(k in e, k);
  assert.deepEqual(sorted(Object.keys(e)), sorted(declared.classes.H5AccessError.instance.filter((k) => k !== "message")));
});
