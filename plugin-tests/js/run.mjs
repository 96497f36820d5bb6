// Runs the payseal plugin's conformance plan (written by `payseal-plugin-plan`,
// format in plugin/conformance/src/lib.rs) in Extism's JavaScript SDK on Node.
//
//   node run.mjs PLAN.json PLUGIN.wasm [SLOW.wasm]
//
// With SLOW.wasm (the plugin built with its `test-slow` export), one more case
// shows that a runaway call is stopped: SDK 1.0.3 has no timeout option, so
// the host runs the plugin in a worker and ends it at its own deadline.
//
// One plugin instance per case, its config the case's `payseal` document;
// prints one line per failure and `payseal-summary: plugin-js N passed, M failed`.
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import createPlugin from '@extism/extism';

const [planPath, wasmPath, slowPath] = process.argv.slice(2);
if (!planPath || !wasmPath) {
  console.error('usage: node run.mjs PLAN.json PLUGIN.wasm');
  process.exit(2);
}

const plan = JSON.parse(await readFile(planPath, 'utf8'));
if (plan.format !== 'payseal-plugin-plan/2') throw new Error(`unknown plan format ${plan.format}`);
// Compiled once; every case instantiates it with its own config.
const module = await WebAssembly.compile(await readFile(wasmPath));
// The plugin's log lines; a failing case prints them.
let logs = [];
const logger = Object.fromEntries(['trace', 'debug', 'info', 'warn', 'error', 'log'].map((level) => [level, (...args) => logs.push(`${level}: ${args.join(' ')}`)]));

async function instantiate(config) {
  return createPlugin(
    { wasm: [{ module }] },
    // SDK 1.0.3 reads `config` from the options only (a manifest's `config`
    // is ignored). No WASI, no host reachable; 1.0.3 has no memory, time or
    // fuel limit to set.
    { useWasi: false, allowedHosts: [], logger, config: { payseal: JSON.stringify(config) } },
  );
}

// The plugin's framed input, written here from its documented layout (not
// with the plugin's own encoder): magic 00 70 73 66, the JSON's length as a
// big-endian u32, the JSON, then the raw body.
function frame(json, body) {
  const text = new TextEncoder().encode(json);
  const framed = new Uint8Array(8 + text.length + body.length);
  framed.set([0x00, 0x70, 0x73, 0x66], 0);
  new DataView(framed.buffer).setUint32(4, text.length, false);
  framed.set(text, 8);
  framed.set(body, 8 + text.length);
  return framed;
}

// Calls `fn` with `input` as JSON text, or framed with `body` (bytes) when given.
async function call(plugin, fn, input, body = null) {
  const json = JSON.stringify(input);
  let output;
  try {
    output = await plugin.call(fn, body === null ? json : frame(json, body));
  } catch (e) {
    throw new Error(`${fn} failed: ${e.message}`);
  }
  if (output === null) throw new Error(`${fn} returned no output`);
  return output.json();
}

function compare(expect, output) {
  for (const [field, want] of Object.entries(expect)) {
    const got = output[field] ?? null;
    if (!isDeepStrictEqual(got, want)) {
      throw new Error(`${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
  }
}

async function runCase(testCase) {
  if (testCase.error !== null) throw new Error(testCase.error);
  const plugin = await instantiate(testCase.config);
  try {
    const store = new Map();
    let claim = null;
    for (const [i, step] of testCase.steps.entries()) {
      const input = structuredClone(step.input);
      // A framed step sends every call it makes as a frame with this body.
      const body = step.framed_body_base64 == null ? null : new Uint8Array(Buffer.from(step.framed_body_base64, 'base64'));
      let output;
      if (step.kind === 'call') {
        output = await call(plugin, step.function, input, body);
      } else if (step.kind === 'idempotent') {
        claim = null;
        output = await call(plugin, step.function, input, body);
        if (output.outcome === 'lookup') {
          input.idempotency = { storage_key: output.storage_key, record: store.get(output.storage_key) ?? null };
          output = await call(plugin, step.function, input, body);
        }
        if (output.outcome === 'execute' && output.idempotency) {
          store.set(output.idempotency.storage_key, output.idempotency.claim);
          claim = { key: output.idempotency.storage_key, record: output.idempotency.claim };
        }
      } else if (step.kind === 'finish') {
        if (claim === null) continue;
        input.claim = claim.record;
        output = await call(plugin, step.function, input, body);
        if (output.action === 'store' || output.action === 'keep_unknown') store.set(claim.key, output.record);
        else if (output.action === 'release') store.delete(claim.key);
        else throw new Error(`step ${i}: finish_request answered ${JSON.stringify(output)}`);
        claim = null;
      } else {
        throw new Error(`step ${i}: unknown step kind ${step.kind}`);
      }
      try {
        compare(step.expect, output);
      } catch (e) {
        throw new Error(`step ${i}: ${e.message}`);
      }
    }
  } finally {
    await plugin.close();
  }
}

// The canary check: no output, error or log line contains a configured secret.
async function runCanary(check) {
  const seen = [];
  let outputs = 0;
  let errors = 0;
  const plugin = await instantiate(check.config);
  try {
    for (const { function: fn, input } of check.calls) {
      try {
        const output = await plugin.call(fn, input);
        seen.push(`output of ${fn}: ${output === null ? '' : output.text()}`);
        outputs += 1;
      } catch (e) {
        seen.push(`error of ${fn}: ${e.message}`);
        errors += 1;
      }
    }
  } finally {
    await plugin.close();
  }
  const bad = await instantiate(check.bad_config);
  try {
    await bad.call('describe', '');
    throw new Error('a bad configuration did not fail');
  } catch (e) {
    if (!e.message.includes('invalid_config')) throw e;
    seen.push(`config error: ${e.message}`);
  } finally {
    await bad.close();
  }
  if (outputs < 10 || errors < 10) throw new Error(`only ${outputs} outputs and ${errors} errors`);
  if (!logs.some((line) => line.includes('check_request: refuse'))) throw new Error('no plugin log was captured');
  for (const text of [...seen, ...logs.map((line) => `log: ${line}`)]) {
    const leaked = check.forbidden.find((f) => text.includes(f));
    if (leaked !== undefined) throw new Error(`the canary leaked through ${text.slice(0, 200)}`);
  }
}

// A call that never returns is ended at the host's deadline and reported as an error.
async function runRunaway(path) {
  const deadlineMs = 300;
  const plugin = await createPlugin({ wasm: [{ data: await readFile(path) }] }, { useWasi: false, allowedHosts: [], logger, runInWorker: true });
  const started = Date.now();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('deadline')), deadlineMs);
  });
  try {
    await Promise.race([plugin.call('test_slow', ''), deadline]);
    throw new Error('test_slow returned');
  } catch (e) {
    if (e.message !== 'deadline') throw e;
  } finally {
    clearTimeout(timer);
    await plugin.close(); // terminates the worker running the call
  }
  const elapsed = Date.now() - started;
  if (elapsed > 5000) throw new Error(`the runaway call was stopped only after ${elapsed} ms`);
}

let passed = 0;
let failed = 0;
if (slowPath) {
  try {
    await runRunaway(slowPath);
    passed += 1;
  } catch (e) {
    failed += 1;
    console.log(`FAIL runaway / test_slow is stopped at the host's deadline: ${e.message}`);
  }
}
logs = [];
try {
  await runCanary(plan.canary);
  passed += 1;
} catch (e) {
  failed += 1;
  console.log(`FAIL ${plan.canary.id}: ${e.message}`);
}
for (const testCase of plan.cases) {
  logs = [];
  try {
    await runCase(testCase);
    passed += 1;
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${testCase.id}: ${e.message}`);
    for (const line of logs) console.log(`  log ${line}`);
  }
}
console.log(`payseal-summary: plugin-js ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
