// Vercel / Next.js edge harness (npm `@edge-runtime/vm`, the runtime Next
// uses to run edge functions locally): bundles edge-entry.js the way Next's
// edge compiler does (conditions edge-light, worker, browser; a
// `.wasm?module` import becomes the WebAssembly.Module the function is
// deployed with, bound as a global of the edge context), evaluates it in an
// EdgeVM and runs the vectors, renewal and webhook cases there. Prints one
// summary line; a missing runtime is a failure.
import process from "node:process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { build } from "esbuild";
import { EdgeVM } from "@edge-runtime/vm";
import { readVectorFiles } from "./vector-files.js";
import { makeWebhookFixtures } from "./webhook-fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const suite = "js-edge";
let passed = 0;
let failed = 0;
try {
  // Each .wasm?module import: a global wasm_<n> of the edge context, as Next binds them.
  const wasmModules = new Map();
  const nextWasm = {
    name: "next-wasm-module",
    setup(b) {
      b.onResolve({ filter: /\.wasm\?module$/ }, (args) => {
        const path = join(args.resolveDir, args.path.replace(/\?module$/, ""));
        if (!wasmModules.has(path)) wasmModules.set(path, `wasm_${wasmModules.size}`);
        return { path, namespace: "next-wasm" };
      });
      b.onLoad({ filter: /.*/, namespace: "next-wasm" }, (args) => ({
        contents: `export default globalThis[${JSON.stringify(wasmModules.get(args.path))}];`,
        loader: "js",
      }));
    },
  };
  const out = await build({
    entryPoints: [join(here, "edge-entry.js")],
    bundle: true,
    write: false,
    metafile: true,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    conditions: ["edge-light", "worker", "browser"],
    mainFields: ["module", "main"],
    plugins: [nextWasm],
    logLevel: "warning",
    // The glue's default loader (fetch next to import.meta.url) is never used: initSync.
    logOverride: { "empty-import-meta": "silent" },
  });
  const inputs = Object.keys(out.metafile.inputs);
  const entries = inputs.filter((p) => /pkg\/esm\/(\w+\/)?(edge-light|workerd|deno|node|browser)\.js$/.test(p));
  console.log(`payseal entries bundled: ${entries.join(", ")}`);
  if (entries.length !== 5 || !entries.every((p) => p.endsWith("/edge-light.js"))) {
    throw new Error("expected the edge-light entries of payseal and its four subpaths alone");
  }
  const packageDir = dirname(require.resolve("payseal/package.json"));
  const expected = ["", "webhooks/", "signing/", "redirect/", "keys/"].map((d) => join(packageDir, `pkg/esm/${d}wasm/payseal_wasm_bg.wasm`));
  if (JSON.stringify([...wasmModules.keys()].sort()) !== JSON.stringify(expected.sort())) {
    throw new Error(`unexpected .wasm?module imports: ${[...wasmModules.keys()].join(", ")}`);
  }

  const vm = new EdgeVM();
  for (const [path, name] of wasmModules) {
    vm.context.__wasmBytes = new Uint8Array(readFileSync(path));
    vm.evaluate(`globalThis[${JSON.stringify(name)}] = new WebAssembly.Module(__wasmBytes); delete globalThis.__wasmBytes;`);
  }
  if (vm.evaluate("typeof EdgeRuntime") !== "string") throw new Error("not an edge runtime context (EdgeRuntime is not defined)");
  vm.evaluate(out.outputFiles[0].text);
  vm.context.__input = JSON.stringify({ files: readVectorFiles(), fixtures: makeWebhookFixtures() });
  const result = JSON.parse(await vm.evaluate("__paysealRun(JSON.parse(__input))"));
  for (const { id, why } of result.failures) console.log(`FAIL ${id}: ${why}`);
  passed = result.passed;
  failed = result.failed;
} catch (e) {
  console.log(`FAIL ${suite}: ${e instanceof Error ? e.stack : e}`);
  failed += 1;
}
console.log(`payseal-summary: ${suite} ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
