// Deno and Bun harness of the shared vector runner, the renewal cases and the
// webhook cases: reads tests/vectors/ and the webhook fixtures (made by the
// real svix and stripe packages under Node: $PAYSEAL_WEBHOOK_FIXTURES) at test
// time (node:fs, which both provide), runs every case through the installed
// package (`import … from "payseal"`, resolved with the runtime's own export
// condition), prints one summary line.
import process from "node:process";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import * as payseal from "payseal";
import * as webhooks from "payseal/webhooks";
import * as signing from "payseal/signing";
import * as redirect from "payseal/redirect";
import * as keys from "payseal/keys";
import { readVectorFiles } from "./vector-files.js";
import { runVectors } from "./vector-runner.js";
import { runRenewalCases } from "./renewal-cases.js";
import { runWebhookCases } from "./webhook-cases.js";
import { runSubpathCases } from "./subpath-cases.js";

const suite = process.argv[2] ?? "js-standalone";
// The entry each runtime must pick from the package's export conditions.
const ENTRY = { "js-deno": "deno.js", "js-bun": "node.js" };
let result;
try {
  for (const [specifier, dir] of [["payseal", "/pkg/esm/"], ["payseal/webhooks", "/pkg/esm/webhooks/"]]) {
    const resolved = String(import.meta.resolve(specifier));
    console.log(`${specifier} resolved to ${resolved}`);
    if (ENTRY[suite] !== undefined && !resolved.endsWith(dir + ENTRY[suite])) {
      throw new Error(`expected the ${dir}${ENTRY[suite]} entry`);
    }
  }
  const vectors = runVectors(payseal, readVectorFiles());
  const renewal = await runRenewalCases(payseal, { inspect });
  const fixturesFile = process.env.PAYSEAL_WEBHOOK_FIXTURES;
  if (!fixturesFile) throw new Error("PAYSEAL_WEBHOOK_FIXTURES must name the webhook fixtures file");
  const fixtures = JSON.parse(readFileSync(fixturesFile, "utf8"));
  const webhookResult = await runWebhookCases(payseal, fixtures);
  const subpaths = await runSubpathCases(payseal, { webhooks, signing, redirect, keys }, fixtures);
  const parts = [vectors, renewal, webhookResult, subpaths];
  result = {
    passed: parts.reduce((n, r) => n + r.passed, 0),
    failed: parts.reduce((n, r) => n + r.failed, 0),
    failures: parts.flatMap((r) => r.failures),
  };
} catch (e) {
  console.log(`FAIL ${suite}: ${e instanceof Error ? e.stack : e}`);
  result = { passed: 0, failed: 1, failures: [] };
}
for (const { id, why } of result.failures) console.log(`FAIL ${id}: ${why}`);
console.log(`payseal-summary: ${suite} ${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed === 0 && result.passed > 0 ? 0 : 1);
