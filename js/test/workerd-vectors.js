// The Worker that runs the shared vector runner and the renewal cases inside
// workerd: POST the vector files ({ files: [{ name, text }] }, read by the
// driver from tests/vectors/ at test time); it answers with both results
// summed. workerd has no util.inspect: the renewal cases check every other
// surface there.
import * as payseal from "payseal";
import { runVectors } from "./vector-runner.js";
import { runRenewalCases } from "./renewal-cases.js";

export default {
  async fetch(request) {
    if (request.method !== "POST") return new Response("POST the vector files", { status: 405 });
    const { files } = await request.json();
    let result;
    try {
      const vectors = runVectors(payseal, files);
      const renewal = await runRenewalCases(payseal);
      result = {
        passed: vectors.passed + renewal.passed,
        failed: vectors.failed + renewal.failed,
        failures: [...vectors.failures, ...renewal.failures],
      };
    } catch (e) {
      result = { passed: 0, failed: 1, failures: [{ id: "worker", why: String(e && e.stack ? e.stack : e) }] };
    }
    return Response.json(result);
  },
};
