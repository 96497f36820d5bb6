// node --test harness of the shared vector runner: one test per case of every
// file in tests/vectors/ (read now, from $PAYSEAL_VECTORS), through the
// installed package, both as `import` and as `require`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readVectorFiles } from "./vector-files.js";
import * as imported from "payseal";
import { vectorCases } from "./vector-runner.js";

const files = readVectorFiles();
const required = createRequire(import.meta.url)("payseal");

for (const { id, run } of vectorCases(imported, files)) {
  test(id, () => {
    const why = run();
    if (why !== null) assert.fail(why);
  });
}

test("require('payseal') and import share one instance", () => {
  assert.equal(required.PaysealError, imported.PaysealError);
  assert.equal(required.Webhooks, imported.Webhooks);
});
