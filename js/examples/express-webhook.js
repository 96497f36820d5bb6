// An Express webhook receiver: Stripe-style and Standard Webhooks signatures
// verified over the raw body (express.raw, never the re-serialized JSON), and a
// DVPay-signed refund endpoint.
//
//   STRIPE_WEBHOOK_SECRET=whsec_… DVPAY_API_SECRET=… node express-webhook.js
import express from "express";
import process from "node:process";
import { DvpayVerifier, PaysealError, Webhooks } from "payseal";

/**
 * @param {{ stripeSecrets: string[], standardSecrets: string[], dvpaySecrets: string[] }} secrets
 *   Several secrets per scheme during a rotation; `secretIndex` tells which matched.
 */
export function createApp(secrets) {
  // Built once: each holder prepares its HMAC keys at construction.
  const stripe = new Webhooks({ scheme: "stripe", secrets: secrets.stripeSecrets });
  const standard = new Webhooks({ scheme: "standard_webhooks", secrets: secrets.standardSecrets });
  const dvpay = new DvpayVerifier({ secrets: secrets.dvpaySecrets });

  const app = express();
  const rawBody = express.raw({ type: "*/*", limit: "1mb" });

  /** Answers 400 with the spec's reason when verification fails. */
  const refuse = (/** @type {import("express").Response} */ res, /** @type {unknown} */ error) => {
    if (error instanceof PaysealError) return res.status(400).json({ error: error.code });
    throw error;
  };

  app.post("/webhooks/stripe", rawBody, (req, res) => {
    try {
      const { secretIndex } = stripe.verify(req.body, req.headers);
      const event = JSON.parse(req.body.toString("utf8"));
      res.json({ received: true, type: event.type, secretIndex });
    } catch (error) {
      refuse(res, error);
    }
  });

  app.post("/webhooks/standard", rawBody, (req, res) => {
    try {
      standard.verify(req.body, req.headers);
      res.status(204).end();
    } catch (error) {
      refuse(res, error);
    }
  });

  app.post("/refunds", rawBody, (req, res) => {
    try {
      dvpay.verify(req.body, req.headers);
    } catch (error) {
      if (error instanceof PaysealError) return res.status(401).json({ error: error.code });
      throw error;
    }
    res.status(201).json({ refunded: true });
  });

  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = createApp({
    stripeSecrets: [process.env.STRIPE_WEBHOOK_SECRET ?? ""],
    standardSecrets: [process.env.STANDARD_WEBHOOK_SECRET ?? ""],
    dvpaySecrets: [process.env.DVPAY_API_SECRET ?? ""],
  });
  const port = Number(process.env.PORT ?? 3000);
  app.listen(port, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${port}`));
}
