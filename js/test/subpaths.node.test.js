// node --test harness of the subpath cases (subpath-cases.js): the four
// subpaths as `import` and as `require`, with the webhook cases run again
// through `payseal/webhooks`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as root from "payseal";
import * as webhooks from "payseal/webhooks";
import * as signing from "payseal/signing";
import * as redirect from "payseal/redirect";
import * as keys from "payseal/keys";
import { subpathCases } from "./subpath-cases.js";
import { webhookCases } from "./webhook-cases.js";
import { makeWebhookFixtures } from "./webhook-fixtures.js";

const require = createRequire(import.meta.url);
const fixtures = makeWebhookFixtures();
const imported = { webhooks, signing, redirect, keys };
const required = Object.fromEntries(Object.keys(imported).map((s) => [s, require(`payseal/${s}`)]));

for (const [how, subs] of [["import", imported], ["require", required]]) {
  for (const { id, run } of subpathCases(root, subs)) {
    test(`${how}: ${id}`, async () => {
      const why = await run();
      if (why !== null) assert.fail(why);
    });
  }
  const viaSubpath = { ...subs.webhooks, DvpaySigner: subs.signing.DvpaySigner, DvpayVerifier: subs.signing.DvpayVerifier };
  for (const { id, run } of webhookCases(viaSubpath, fixtures)) {
    test(`${how}: payseal/webhooks ${id}`, async () => {
      const why = await run();
      if (why !== null) assert.fail(why);
    });
  }
}

test("require and import of a subpath share one instance", () => {
  assert.equal(required.webhooks.Webhooks, webhooks.Webhooks);
});
