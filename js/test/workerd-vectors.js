// The Worker that runs the shared vector runner, the renewal cases and the
// webhook cases inside workerd: POST the vector files and the webhook fixtures
// ({ files: [{ name, text }], fixtures }, read and made by the driver at test
// time); it answers with the results summed. workerd has no util.inspect: the renewal cases check every other
// surface there.
import * as payseal from "payseal";
import * as webhooks from "payseal/webhooks";
import * as signing from "payseal/signing";
import * as redirect from "payseal/redirect";
import * as keys from "payseal/keys";
import { runVectors } from "./vector-runner.js";
import { runRenewalCases } from "./renewal-cases.js";
import { runWebhookCases } from "./webhook-cases.js";
import { runSubpathCases } from "./subpath-cases.js";

export default {
  async fetch(request) {
    if (request.method !== "POST") return new Response("POST the vector files", { status: 405 });
    const { files, fixtures } = await request.json();
    let result;
    try {
      const vectors = runVectors(payseal, files);
      const renewal = await runRenewalCases(payseal);
      const webhookResult = await runWebhookCases(payseal, fixtures);
      const subpaths = await runSubpathCases(payseal, { webhooks, signing, redirect, keys }, fixtures);
      const parts = [vectors, renewal, webhookResult, subpaths];
      result = {
        passed: parts.reduce((n, r) => n + r.passed, 0),
        failed: parts.reduce((n, r) => n + r.failed, 0),
        failures: parts.flatMap((r) => r.failures),
      };
    } catch (e) {
      result = { passed: 0, failed: 1, failures: [{ id: "worker", why: String(e && e.stack ? e.stack : e) }] };
    }
    return Response.json(result);
  },
};
