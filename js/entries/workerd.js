// Cloudflare Workers (workerd): the .wasm is a module of the Worker itself,
// compiled by the runtime when the Worker loads: no `fs`, no fetch. Bundlers
// that resolve the `workerd` condition (wrangler, esbuild) keep this import as
// a CompiledWasm module, and `initSync({ module })` instantiates it.
import module from "./wasm/payseal_wasm_bg.wasm";
import { initSync } from "./wasm/payseal_wasm.js";

initSync({ module });

export * from "./index.js";
