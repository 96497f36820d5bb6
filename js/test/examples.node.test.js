// Runs the examples for real: the Express receiver on a loopback port, and the
// Hono Worker inside workerd; requests are signed with payseal's test doubles.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { DvpaySigner, RedirectOpener, WebhookSigner } from "payseal";
import { createApp } from "../examples/express-webhook.js";
import { startWorker } from "./workerd.js";

const here = dirname(fileURLToPath(import.meta.url));
const STRIPE = "whsec_test_secret_9a8b7c6d5e4f";
const STANDARD = "whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr";
const DVPAY = "dvp_sec_7Hq2Lm9Xc4Rt8Vb1";
const CLIENT = "cs_test_4f8a1c2e9b7d6a5f3e2d1c0b";
const event = JSON.stringify({ id: "evt_1", type: "payment_intent.succeeded" });

let server;
let base;
after(() => server?.close());

async function express() {
  if (base === undefined) {
    const app = createApp({ stripeSecrets: ["whsec_old_rotated", STRIPE], standardSecrets: [STANDARD], dvpaySecrets: [DVPAY] });
    await new Promise((ok) => {
      server = app.listen(0, "127.0.0.1", ok);
    });
    base = `http://127.0.0.1:${server.address().port}`;
  }
  return base;
}

test("express: a stripe webhook signed with the second secret is accepted", async () => {
  const headers = new WebhookSigner({ scheme: "stripe", secret: STRIPE }).sign(event);
  const res = await fetch(`${await express()}/webhooks/stripe`, { method: "POST", body: event, headers: { ...headers, "content-type": "application/json" } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { received: true, type: "payment_intent.succeeded", secretIndex: 1 });
});

test("express: a changed body is refused with bad_signature", async () => {
  const headers = new WebhookSigner({ scheme: "stripe", secret: STRIPE }).sign(event);
  const res = await fetch(`${await express()}/webhooks/stripe`, { method: "POST", body: `${event} `, headers: { ...headers, "content-type": "application/json" } });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: "bad_signature" });
});

test("express: standard webhooks, missing and stale signatures", async () => {
  const signer = new WebhookSigner({ scheme: "standard_webhooks", secret: STANDARD });
  const ok = await fetch(`${await express()}/webhooks/standard`, { method: "POST", body: event, headers: signer.sign(event) });
  assert.equal(ok.status, 204);
  const missing = await fetch(`${await express()}/webhooks/standard`, { method: "POST", body: event });
  assert.deepEqual([missing.status, await missing.json()], [400, { error: "missing_signature" }]);
  const stale = signer.sign(event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
  const res = await fetch(`${await express()}/webhooks/standard`, { method: "POST", body: event, headers: stale });
  assert.deepEqual([res.status, await res.json()], [400, { error: "stale_timestamp" }]);
});

test("express: a DVPay-signed refund is accepted, a forged one refused", async () => {
  const body = JSON.stringify({ orderId: 123, refundAmount: 10.5 });
  const headers = new DvpaySigner({ apiKey: "ak_1", secret: DVPAY }).sign(body);
  const ok = await fetch(`${await express()}/refunds`, { method: "POST", body, headers });
  assert.equal(ok.status, 201);
  const forged = new DvpaySigner({ apiKey: "ak_1", secret: "not-the-secret" }).sign(body);
  const res = await fetch(`${await express()}/refunds`, { method: "POST", body, headers: forged });
  assert.deepEqual([res.status, await res.json()], [401, { error: "bad_signature" }]);
});

test("worker (Hono) in workerd: webhooks and redirect data", async () => {
  const worker = await startWorker({
    entry: join(here, "..", "examples", "worker.js"),
    workDir: join(here, "..", "workerd-example"),
    workerdBin: process.env.WORKERD_BIN ?? "workerd",
    bindings: { WEBHOOK_SECRET: STANDARD, CLIENT_SECRET: CLIENT, ENVIRONMENT: "test" },
  });
  try {
    const signer = new WebhookSigner({ scheme: "standard_webhooks", secret: STANDARD });
    const ok = await fetch(`${worker.url}/webhooks`, { method: "POST", body: event, headers: signer.sign(event) });
    assert.deepEqual([ok.status, await ok.json()], [200, { received: true, type: "payment_intent.succeeded", secretIndex: 0 }]);
    const bad = await fetch(`${worker.url}/webhooks`, { method: "POST", body: `${event}\n`, headers: signer.sign(event) });
    assert.deepEqual([bad.status, await bad.json()], [400, { error: "bad_signature" }]);

    const sealer = new RedirectOpener({ environment: "test", clientSecret: CLIENT });
    const token = sealer.seal({ sessionId: "SHOP01-1", status: "completed", amount: { value: 10000, currency: "EUR" } });
    const opened = await fetch(`${worker.url}/payment/return?data=${encodeURIComponent(token)}`);
    assert.deepEqual([opened.status, await opened.json()], [200, { sessionId: "SHOP01-1", status: "completed", amount: { value: 10000, currency: "EUR" } }]);
    const live = new RedirectOpener({ environment: "live", clientSecret: CLIENT }).seal({ sessionId: "S", status: "completed" });
    const wrongEnv = await fetch(`${worker.url}/payment/return?data=${encodeURIComponent(live)}`);
    assert.deepEqual([wrongEnv.status, await wrongEnv.json()], [400, { error: "authentication" }]);
  } catch (e) {
    throw new Error(`${e.message}\nworkerd log:\n${worker.log()}`, { cause: e });
  } finally {
    await worker.stop();
  }
});
