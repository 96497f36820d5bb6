// workerd harness of the shared vector runner: the Worker is
// workerd-vectors.js bundled with `import … from "payseal"` resolved by the
// `workerd` condition; the vector files are read from tests/vectors/ now and
// POSTed to it. Prints one summary line.
import process from "node:process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { readVectorFiles } from "./vector-files.js";
import { startWorker } from "./workerd.js";
import { makeWebhookFixtures } from "./webhook-fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const suite = "js-workerd";
let passed = 0;
let failed = 0;
let worker;
try {
  const files = readVectorFiles();
  const fixtures = makeWebhookFixtures();
  worker = await startWorker({
    entry: join(here, "workerd-vectors.js"),
    workDir: join(here, "..", "workerd-vectors"),
    workerdBin: process.env.WORKERD_BIN ?? "workerd",
  });
  const response = await fetch(worker.url, { method: "POST", body: JSON.stringify({ files, fixtures }) });
  if (!response.ok) throw new Error(`worker answered ${response.status}: ${await response.text()}\n${worker.log()}`);
  const result = await response.json();
  for (const { id, why } of result.failures) console.log(`FAIL ${id}: ${why}`);
  passed = result.passed;
  failed = result.failed;
} catch (e) {
  console.log(`FAIL ${suite}: ${e instanceof Error ? e.stack : e}`);
  failed += 1;
} finally {
  await worker?.stop();
}
console.log(`payseal-summary: ${suite} ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
