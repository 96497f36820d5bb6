// A Cloudflare Worker (Hono) receiving Standard Webhooks and the encrypted
// redirect `data` of a hosted payment page. `import … from "payseal"` loads the
// .wasm as a module of the Worker (the `workerd` export condition).
//
// Bindings (wrangler secrets): WEBHOOK_SECRET (whsec_…), CLIENT_SECRET (the
// client secret of ENVIRONMENT), ENVIRONMENT ("live" or "test").
import { Hono } from "hono";
import { PaysealError, RedirectOpener, Webhooks } from "payseal";

/** @typedef {{ WEBHOOK_SECRET: string, CLIENT_SECRET: string, ENVIRONMENT: "live" | "test" }} Env */

/** @type {Hono<{ Bindings: Env }>} */
const app = new Hono();

// Holders are built once per isolate (the first request brings the env) and reused.
/** @type {Webhooks | undefined} */
let webhooks;
/** @type {RedirectOpener | undefined} */
let opener;

app.onError((error, c) => {
  if (error instanceof PaysealError) return c.json({ error: error.code }, 400);
  console.error(error);
  return c.json({ error: "internal" }, 500);
});

app.post("/webhooks", async (c) => {
  webhooks ??= new Webhooks({ scheme: "standard_webhooks", secrets: [c.env.WEBHOOK_SECRET] });
  // The raw bytes, exactly as sent.
  const body = new Uint8Array(await c.req.arrayBuffer());
  const { secretIndex } = webhooks.verify(body, c.req.raw.headers);
  const event = JSON.parse(new TextDecoder().decode(body));
  return c.json({ received: true, type: event.type, secretIndex });
});

app.get("/payment/return", (c) => {
  opener ??= new RedirectOpener({ environment: c.env.ENVIRONMENT, clientSecret: c.env.CLIENT_SECRET });
  const data = opener.open(c.req.query("data") ?? "");
  return c.json({ sessionId: data.sessionId, status: data.status, amount: data.amount ?? null });
});

export default app;
