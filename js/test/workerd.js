// Runs a Worker in real workerd (npm `workerd`, `workerd serve` on a capnp
// config written here): bundles the Worker with esbuild the way wrangler does
// (conditions workerd/worker/browser, each imported .wasm kept as a
// CompiledWasm module of the Worker), starts workerd on a free loopback port, and stops it.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync, copyFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, join, resolve } from "node:path";
import { build } from "esbuild";

/**
 * What wrangler does with a `.wasm` import: the module becomes a CompiledWasm
 * module of the Worker under a name of its own (here its path inside the
 * package, so `payseal` and `payseal/webhooks` each bring their own).
 */
function wasmModules(found) {
  return {
    name: "worker-wasm-modules",
    setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, (args) => {
        const source = resolve(args.resolveDir, args.path);
        const name = `wasm/${found.size}-${basename(source)}`;
        if (!found.has(source)) found.set(source, name);
        return { path: found.get(source), external: true };
      });
    },
  };
}

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/**
 * @param {object} o
 * @param {string} o.entry the Worker's entry module
 * @param {string} o.workDir where the bundle and config go
 * @param {string} o.workerdBin the workerd binary
 * @param {Record<string, string>} [o.bindings] text bindings (env)
 * @returns {Promise<{ url: string, pid: number, stop: () => Promise<void>, log: () => string }>}
 */
export async function startWorker({ entry, workDir, workerdBin, bindings = {} }) {
  mkdirSync(join(workDir, "wasm"), { recursive: true });
  const found = new Map();
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    plugins: [wasmModules(found)],
    outfile: join(workDir, "worker.js"),
    logLevel: "warning",
  });
  const modules = [...found].map(([source, name]) => {
    copyFileSync(source, join(workDir, name));
    return `(name = "${name}", wasm = embed "${name}"),`;
  });
  const port = await freePort();
  const envBindings = Object.entries(bindings)
    .map(([name, value]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`)
    .join(", ");
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    ${modules.join("\n    ")}
  ],
  bindings = [ ${envBindings} ],
  compatibilityDate = "2025-09-01",
);
`;
  const configPath = join(workDir, "config.capnp");
  writeFileSync(configPath, config);
  let output = "";
  const child = spawn(workerdBin, ["serve", resolve(configPath)], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((ok) => child.once("exit", (code, signal) => ok({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${output}`);
    try {
      await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(1_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`workerd did not listen within 30 s:\n${output}`);
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
  return {
    url,
    pid: child.pid,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
