// The Worker that runs the shared vector runner, the renewal cases and the
// webhook cases inside workerd: POST the vector files and the webhook fixtures
// ({ files: [{ name, text }], fixtures }, read and made by the driver at test
// time); it answers with the results summed. workerd has no util.inspect: the renewal cases check every other
// surface there.
import * as payseal from "payseal";
import { runVectors } from "./vector-runner.js";
import { runRenewalCases } from "./renewal-cases.js";
import { runWebhookCases } from "./webhook-cases.js";

export default {
  async fetch(request) {
    if (request.method !== "POST") return new Response("POST the vector files", { status: 405 });
    const { files, fixtures } = await request.json();
    let result;
    try {
      const vectors = runVectors(payseal, files);
      const renewal = await runRenewalCases(payseal);
      const webhooks = await runWebhookCases(payseal, fixtures);
      result = {
        passed: vectors.passed + renewal.passed + webhooks.passed,
        failed: vectors.failed + renewal.failed + webhooks.failed,
        failures: [...vectors.failures, ...renewal.failures, ...webhooks.failures],
      };
    } catch (e) {
      result = { passed: 0, failed: 1, failures: [{ id: "worker", why: String(e && e.stack ? e.stack : e) }] };
    }
    return Response.json(result);
  },
};
