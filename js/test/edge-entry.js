// The edge function of the edge-light suite: the shared vector runner, the
// renewal cases and the webhook cases, bundled with `import … from "payseal"`
// resolved by the `edge-light` condition (Vercel / Next.js edge).
import * as payseal from "payseal";
import * as webhooks from "payseal/webhooks";
import * as signing from "payseal/signing";
import * as redirect from "payseal/redirect";
import * as keys from "payseal/keys";
import { runVectors } from "./vector-runner.js";
import { runRenewalCases } from "./renewal-cases.js";
import { runWebhookCases } from "./webhook-cases.js";
import { runSubpathCases } from "./subpath-cases.js";

globalThis.__paysealRun = async ({ files, fixtures }) => {
  const vectors = runVectors(payseal, files);
  const renewal = await runRenewalCases(payseal);
  const webhookResult = await runWebhookCases(payseal, fixtures);
  const subpaths = await runSubpathCases(payseal, { webhooks, signing, redirect, keys }, fixtures);
  const parts = [vectors, renewal, webhookResult, subpaths];
  return JSON.stringify({
    passed: parts.reduce((n, r) => n + r.passed, 0),
    failed: parts.reduce((n, r) => n + r.failed, 0),
    failures: parts.flatMap((r) => r.failures),
  });
};
