// The Worker that runs the shared vector runner inside workerd: POST the
// vector files ({ files: [{ name, text }] }, read by the driver from
// tests/vectors/ at test time); it answers with the runner's result.
import * as payseal from "payseal";
import { runVectors } from "./vector-runner.js";

export default {
  async fetch(request) {
    if (request.method !== "POST") return new Response("POST the vector files", { status: 405 });
    const { files } = await request.json();
    let result;
    try {
      result = runVectors(payseal, files);
    } catch (e) {
      result = { passed: 0, failed: 1, failures: [{ id: "worker", why: String(e && e.stack ? e.stack : e) }] };
    }
    return Response.json(result);
  },
};
