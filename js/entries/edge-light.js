// Vercel / Next.js edge (the `edge-light` condition): Next's bundler turns a
// `.wasm?module` import into the compiled WebAssembly.Module the edge
// function is deployed with; no fetch, no eval of bytes at request time.
import module from "./wasm/payseal_wasm_bg.wasm?module";
import { initSync } from "./wasm/payseal_wasm.js";

initSync({ module });

export * from "./index.js";
