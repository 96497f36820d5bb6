// Deno: a source-phase import hands over the compiled WebAssembly.Module, so
// loading needs no --allow-read and no network.
import source module from "./wasm/payseal_wasm_bg.wasm";
import { initSync } from "./wasm/payseal_wasm.js";

initSync({ module });

export * from "./index.js";
