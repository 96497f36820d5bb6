/**
 * payseal: payment-API signatures, webhook verification, encrypted redirect
 * data, API-key checks and idempotency decisions, computed by one Rust core
 * compiled to WebAssembly.
 *
 * This file only translates: it checks argument types (a wrong type is a
 * `TypeError`, never a Wasm trap), turns bodies and headers into what the core
 * takes, and turns the core's answers into plain JS values. Every rule lives
 * in the core.
 *
 * Secret holders (`Webhooks`, `DvpaySigner`, …) are built once and reused.
 * They keep their prepared keys inside Wasm memory only: no property,
 * `toJSON`, `util.inspect` or error message shows a secret. `free()` (or
 * `using` / `Symbol.dispose`) wipes the keys at once; a forgotten holder is
 * wiped when it is garbage-collected.
 */
export * from "./webhooks.js";
export * from "./signing.js";
export * from "./redirect.js";
export * from "./keys.js";
