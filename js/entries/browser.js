// Browsers and bundlers without a runtime condition: the .wasm is fetched from
// next to this file (the bundler's asset URL) and compiled while streaming.
import init from "./wasm/payseal_wasm.js";

await init({ module_or_path: new URL("./wasm/payseal_wasm_bg.wasm", import.meta.url) });

export * from "./index.js";
