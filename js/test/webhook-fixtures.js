// Makes the webhook fixtures every runtime's suite checks, with the real
// `svix` and `stripe` packages (Node only: `node test/webhook-fixtures.js`
// prints the JSON; the harnesses hand it to workerd, Deno, Bun and the edge
// runtime). Each message is signed by the reference library and verified by
// it here, so a fixture that the reference refuses never reaches payseal.
import { Webhook as SvixWebhook } from "svix";
import Stripe from "stripe";

const NOW = Math.floor(Date.now() / 1000);

function fail(message) {
  throw new Error(`webhook-fixtures: ${message}`);
}

/** Base64 of `bytes` with non-zero trailing bits in its last data character (same bytes when decoded leniently). */
function withTrailingBits(canonical) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const data = canonical.replace(/=+$/, "");
  const padding = canonical.length - data.length;
  if (padding === 0) fail("the canonical secret has no trailing bits to set");
  const last = alphabet.indexOf(data[data.length - 1]);
  const bumped = alphabet[last + 1];
  return data.slice(0, -1) + bumped + "=".repeat(padding);
}

function svixMessages() {
  const secrets = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr",
    // 31 bytes: the last character has two trailing bits, set here.
    `whsec_${withTrailingBits(Buffer.from("payseal trailing-bits secret 31").toString("base64"))}`,
  ];
  const payloads = [
    JSON.stringify({ type: "invoice.paid", data: { id: "in_1", amount: 1000 } }),
    '{"type":"user.created","data":{"name":"Zoë ✓"}}',
    "not json at all",
  ];
  const out = [];
  secrets.forEach((secret, i) => {
    const wh = new SvixWebhook(secret);
    payloads.forEach((payload, j) => {
      const id = `msg_${i}${j}svixfixture`;
      const timestamp = NOW - 10 * (i + j);
      const signature = wh.sign(id, new Date(timestamp * 1000), payload);
      const headers = { "svix-id": id, "svix-timestamp": String(timestamp), "svix-signature": signature };
      wh.verify(payload, headers); // the reference accepts it (throws otherwise)
      out.push({ secret, id, timestamp, payload, signature, nonCanonicalSecret: i === 2 });
    });
  });
  // The non-canonical secret signs as its canonical spelling does in svix too.
  const odd = out.find((m) => m.nonCanonicalSecret);
  const canonical = `whsec_${Buffer.from("payseal trailing-bits secret 31").toString("base64")}`;
  if (new SvixWebhook(canonical).sign(odd.id, new Date(odd.timestamp * 1000), odd.payload) !== odd.signature) {
    fail("svix does not decode the non-canonical secret as its canonical spelling");
  }
  return out;
}

function stripeMessages() {
  const stripe = new Stripe("sk_test_fixture");
  const secret = "whsec_test_secret";
  const payload = JSON.stringify({ id: "evt_test_webhook", object: "event" }, null, 2);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: NOW });
  stripe.webhooks.constructEvent(payload, header, secret);
  return [{ secret, payload, header, timestamp: NOW }];
}

export function makeWebhookFixtures() {
  return { now: NOW, svix: svixMessages(), stripe: stripeMessages() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(JSON.stringify(makeWebhookFixtures()));
}
