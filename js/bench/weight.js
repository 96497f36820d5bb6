// What the package weighs: every .wasm module it ships (raw and gzip -9), the
// packed tarball, and the cost of importing it (time and RSS) in fresh Node
// processes and in fresh workerd processes, each beside the runtime's own
// crypto (node:crypto in Node, WebCrypto in workerd). Printed by `npm run
// bench` after the speed ratios (`node js/bench/weight.js` alone prints it too).
// Figures only: nothing here is asserted.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { startWorker } from "../test/workerd.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, "..", "..");
const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 7);
const KiB = (n) => `${(n / 1024).toFixed(1)} KiB`;
const MiB = (n) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function wasmFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...wasmFiles(path));
    else if (name.endsWith(".wasm")) out.push(path);
  }
  return out;
}

/** Every .wasm of the package, raw and gzip -9. */
export function moduleSizes(pkgDir = join(ROOT, "pkg")) {
  return wasmFiles(pkgDir).map((path) => {
    const bytes = readFileSync(path);
    return { module: relative(pkgDir, path), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

/** `npm pack --dry-run` of dist/npm: tarball and unpacked size, file count. */
export function tarball() {
  const out = spawnSync("npm", ["pack", "--dry-run", "--json", "./dist/npm"], { cwd: ROOT, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`npm pack failed: ${out.stderr}`);
  const [info] = JSON.parse(out.stdout);
  return { size: info.size, unpacked: info.unpackedSize, files: info.entryCount };
}

const NODE_PROBES = {
  payseal: `const t0 = performance.now(); const r0 = process.memoryUsage().rss;
const p = await import("payseal");
new p.Webhooks({ scheme: "stripe", secrets: ["whsec_x"] }).free();
console.log(JSON.stringify({ ms: performance.now() - t0, rss: process.memoryUsage().rss - r0 }));`,
  "payseal/webhooks": `const t0 = performance.now(); const r0 = process.memoryUsage().rss;
const p = await import("payseal/webhooks");
new p.Webhooks({ scheme: "stripe", secrets: ["whsec_x"] }).free();
console.log(JSON.stringify({ ms: performance.now() - t0, rss: process.memoryUsage().rss - r0 }));`,
  "node:crypto": `const t0 = performance.now(); const r0 = process.memoryUsage().rss;
const c = await import("node:crypto");
c.createHmac("sha256", "whsec_x").update("x").digest("hex");
console.log(JSON.stringify({ ms: performance.now() - t0, rss: process.memoryUsage().rss - r0 }));`,
};

/** Import time and RSS added, median of fresh Node processes, interleaved. */
export function nodeImportCost(cwd = join(ROOT, "js")) {
  const samples = Object.fromEntries(Object.keys(NODE_PROBES).map((k) => [k, { ms: [], rss: [] }]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, probe] of Object.entries(NODE_PROBES)) {
      const out = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { cwd, encoding: "utf8" });
      if (out.status !== 0) throw new Error(`${name} probe failed: ${out.stderr}`);
      const { ms, rss } = JSON.parse(out.stdout.trim());
      samples[name].ms.push(ms);
      samples[name].rss.push(rss);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { ms: median(v.ms), rss: median(v.rss) }]));
}

const WORKERS = {
  payseal: `import { Webhooks } from "payseal";
export default { async fetch() { new Webhooks({ scheme: "stripe", secrets: ["whsec_x"] }).free(); return new Response("ok"); } };`,
  "payseal/webhooks": `import { Webhooks } from "payseal/webhooks";
export default { async fetch() { new Webhooks({ scheme: "stripe", secrets: ["whsec_x"] }).free(); return new Response("ok"); } };`,
  "WebCrypto (native)": `export default { async fetch() {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("whsec_x"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("x")); return new Response("ok"); } };`,
};

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb * 1024;
}

/**
 * A fresh workerd per run: time from spawn to the first answer, and the
 * process's RSS after it.
 */
export async function workerdImportCost(workerdBin) {
  const dir = mkdtempSync(join(tmpdir(), "payseal-weight-"));
  const samples = Object.fromEntries(Object.keys(WORKERS).map((k) => [k, { ms: [], rss: [] }]));
  try {
    for (let i = 0; i < Math.max(3, Math.floor(RUNS / 2)); i++) {
      for (const [name, source] of Object.entries(WORKERS)) {
        const workDir = join(dir, `${i}-${name.replace(/\W+/g, "_")}`);
        const entry = join(here, `.weight-worker-${name.replace(/\W+/g, "_")}.js`);
        writeFileSync(entry, source);
        const t0 = performance.now();
        const worker = await startWorker({ entry, workDir, workerdBin });
        try {
          const res = await fetch(worker.url);
          if ((await res.text()) !== "ok") throw new Error(`${name} worker answered ${res.status}\n${worker.log()}`);
          samples[name].ms.push(performance.now() - t0);
          samples[name].rss.push(rssOf(worker.pid));
        } finally {
          await worker.stop();
          rmSync(entry, { force: true });
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { ms: median(v.ms), rss: median(v.rss) }]));
}

export async function printWeight() {
  const require = createRequire(join(ROOT, "js", "bench", "weight.js"));
  const pkgRoot = dirname(require.resolve("payseal/package.json"));
  console.log("\nsize (targets: the webhooks module ≤ 100 KiB raw, every module ≤ 250 KiB raw)");
  for (const m of moduleSizes(join(pkgRoot, "pkg"))) {
    console.log(`  ${m.module.padEnd(44)} ${KiB(m.raw).padStart(10)} raw ${KiB(m.gzip).padStart(10)} gzip -9`);
  }
  const t = tarball();
  console.log(`  npm tarball ${KiB(t.size)}, unpacked ${KiB(t.unpacked)}, ${t.files} files`);

  const node = nodeImportCost();
  console.log(`\nimport cost in Node ${process.version} (fresh processes, median of ${RUNS}; import + one holder / one HMAC)`);
  for (const [name, c] of Object.entries(node)) console.log(`  ${name.padEnd(22)} ${c.ms.toFixed(1).padStart(7)} ms ${MiB(c.rss).padStart(10)} RSS added`);
  for (const name of ["payseal", "payseal/webhooks"]) {
    const c = node[name];
    console.log(`  ${name} ÷ node:crypto: time ×${(c.ms / node["node:crypto"].ms).toFixed(1)}, RSS +${MiB(c.rss - node["node:crypto"].rss)}`);
  }

  const workerdBin = process.env.WORKERD_BIN ?? join(ROOT, "node_modules", ".bin", "workerd");
  const w = await workerdImportCost(workerdBin);
  console.log("\nimport cost in workerd (fresh workerd per run: spawn to first answer, process RSS after it; median)");
  for (const [name, c] of Object.entries(w)) console.log(`  ${name.padEnd(22)} ${c.ms.toFixed(1).padStart(7)} ms ${MiB(c.rss).padStart(10)} RSS`);
  const base = w["WebCrypto (native)"];
  for (const name of ["payseal", "payseal/webhooks"]) {
    console.log(`  ${name} − native: +${(w[name].ms - base.ms).toFixed(1)} ms, +${MiB(w[name].rss - base.rss)} RSS`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await printWeight();
