// node --test harness of the webhook cases (webhook-cases.js) through the
// installed package, as `import` and as `require`, with fixtures made now by
// the real svix and stripe packages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as imported from "payseal";
import { webhookCases } from "./webhook-cases.js";
import { makeWebhookFixtures } from "./webhook-fixtures.js";

const fixtures = makeWebhookFixtures();
const required = createRequire(import.meta.url)("payseal");

for (const [how, payseal] of [["import", imported], ["require", required]]) {
  for (const { id, run } of webhookCases(payseal, fixtures)) {
    test(`${how}: ${id}`, async () => {
      const why = await run();
      if (why !== null) assert.fail(why);
    });
  }
}
