// The CommonJS side of the types (`require("payseal")`, pkg/cjs/index.d.ts),
// type-checked under the same lib settings as usage.ts.
import payseal = require("payseal");
import webhooksOnly = require("payseal/webhooks");

const body = '{"id":"evt_1"}';
const now = 1_719_500_000;
const header: string = payseal.generateTestHeaderString({ payload: body, secret: "whsec_x", timestamp: now });
const event = payseal.constructEvent(body, header, "whsec_x", { now, seen: payseal.memorySeen() });
const webhooks = new payseal.Webhooks({ scheme: "stripe", secret: "whsec_x" });
const verified: payseal.VerifiedWebhook = webhooks.verify(body, { "stripe-signature": header }, { now });
try {
  new payseal.Webhook("not base64!!");
} catch (error) {
  if (error instanceof payseal.PaysealError) void error.code;
}
webhooks.free();
new webhooksOnly.Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").free();
void [event, verified.secretIndex];
