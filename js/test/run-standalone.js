// Deno and Bun harness of the shared vector runner and the renewal cases:
// reads tests/vectors/ at test time (node:fs, which both provide), runs every
// case through the installed package (`import … from "payseal"`, resolved
// with the runtime's own export condition), prints one summary line.
import process from "node:process";
import { inspect } from "node:util";
import * as payseal from "payseal";
import { readVectorFiles } from "./vector-files.js";
import { runVectors } from "./vector-runner.js";
import { runRenewalCases } from "./renewal-cases.js";

const suite = process.argv[2] ?? "js-standalone";
// The entry each runtime must pick from the package's export conditions.
const ENTRY = { "js-deno": "/pkg/esm/deno.js", "js-bun": "/pkg/esm/node.js" };
let result;
try {
  const resolved = String(import.meta.resolve("payseal"));
  console.log(`payseal resolved to ${resolved}`);
  if (ENTRY[suite] !== undefined && !resolved.endsWith(ENTRY[suite])) {
    throw new Error(`expected the ${ENTRY[suite]} entry`);
  }
  const vectors = runVectors(payseal, readVectorFiles());
  const renewal = await runRenewalCases(payseal, { inspect });
  result = {
    passed: vectors.passed + renewal.passed,
    failed: vectors.failed + renewal.failed,
    failures: [...vectors.failures, ...renewal.failures],
  };
} catch (e) {
  console.log(`FAIL ${suite}: ${e instanceof Error ? e.stack : e}`);
  result = { passed: 0, failed: 1, failures: [] };
}
for (const { id, why } of result.failures) console.log(`FAIL ${id}: ${why}`);
console.log(`payseal-summary: ${suite} ${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed === 0 && result.passed > 0 ? 0 : 1);
