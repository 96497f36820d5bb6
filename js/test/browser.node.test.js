// payseal is server-only by construction: a bundle made for a browser (the
// `browser` condition, or no server condition at all) gets the entry that
// throws at import, and carries none of the Wasm core.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";

const SOURCE = `import { Webhooks, HttpMessageSigner } from "payseal";
import { Webhook } from "payseal/webhooks";
export const made = [Webhooks, HttpMessageSigner, Webhook];`;
const MESSAGE = "payseal holds secrets and runs only on servers: Node, Deno, Bun, Cloudflare Workers, Vercel/Next.js edge";

async function bundle(options) {
  const out = await build({
    stdin: { contents: SOURCE, resolveDir: process.cwd(), sourcefile: "client.js" },
    bundle: true,
    write: false,
    format: "esm",
    metafile: true,
    logLevel: "silent",
    ...options,
  });
  return { text: out.outputFiles[0].text, inputs: Object.keys(out.metafile.inputs) };
}

async function importRefused(text) {
  const url = `data:text/javascript;base64,${Buffer.from(text).toString("base64")}`;
  await assert.rejects(import(url), (e) => e instanceof Error && e.message.startsWith(MESSAGE));
}

for (const [name, options] of [
  ["esbuild --platform=browser", { platform: "browser" }],
  ["a bundler with no server condition (import/default)", { platform: "neutral", mainFields: ["module", "main"] }],
]) {
  test(`${name}: the bundle refuses at import and holds no Wasm core`, async () => {
    const { text, inputs } = await bundle(options);
    const entries = inputs.filter((p) => /(^|\/)pkg\//.test(p));
    assert.deepEqual(entries.map((p) => p.replace(/.*pkg\//, "pkg/")).sort(), ["pkg/esm/browser.js", "pkg/esm/webhooks/browser.js"]);
    assert.ok(!text.includes("HeaderVerifier") && !text.includes(".wasm"), "the bundle carries the Wasm core");
    await importRefused(text);
  });
}

test("server conditions still resolve the server entries", async () => {
  for (const [conditions, entry] of [
    [["workerd", "worker", "browser"], "pkg/esm/workerd.js"],
    [["edge-light", "worker", "browser"], "pkg/esm/edge-light.js"],
    [["node"], "pkg/esm/node.js"],
    [["deno"], "pkg/esm/deno.js"],
  ]) {
    const external = ["*.wasm", "*.wasm?module", "../cjs/*", "../../cjs/*"];
    const { inputs } = await bundle({ platform: "neutral", conditions, external, mainFields: ["module", "main"] });
    const found = inputs.filter((p) => /pkg\/esm\/(webhooks\/)?(browser|workerd|edge-light|node|deno)\.js$/.test(p)).map((p) => p.replace(/.*pkg\//, "pkg/"));
    assert.deepEqual(found.sort(), [entry, entry.replace("pkg/esm/", "pkg/esm/webhooks/")].sort(), `conditions ${conditions.join(",")}`);
  }
});
