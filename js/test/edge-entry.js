// The edge function of the edge-light suite: the shared vector runner, the
// renewal cases and the webhook cases, bundled with `import … from "payseal"`
// resolved by the `edge-light` condition (Vercel / Next.js edge).
import * as payseal from "payseal";
import { runVectors } from "./vector-runner.js";
import { runRenewalCases } from "./renewal-cases.js";
import { runWebhookCases } from "./webhook-cases.js";

globalThis.__paysealRun = async ({ files, fixtures }) => {
  const vectors = runVectors(payseal, files);
  const renewal = await runRenewalCases(payseal);
  const webhooks = await runWebhookCases(payseal, fixtures);
  return JSON.stringify({
    passed: vectors.passed + renewal.passed + webhooks.passed,
    failed: vectors.failed + renewal.failed + webhooks.failed,
    failures: [...vectors.failures, ...renewal.failures, ...webhooks.failures],
  });
};
