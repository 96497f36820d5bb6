// Type-checked tour of the public API (tsc --noEmit in the test command).
import {
  contentDigest,
  createKeyRecord,
  CybersourceSigner,
  CybersourceVerifier,
  decide,
  DvpaySigner,
  DvpayVerifier,
  finish,
  HttpMessageSigner,
  HttpMessageVerifier,
  KeyChecker,
  PaysealError,
  RedirectOpener,
  requestSecretRenewal,
  SecretRenewer,
  shouldRenew,
  storageKey,
  Webhooks,
  WebhookSigner,
  Webhook,
  WebhookVerificationError,
  constructEvent,
  generateTestHeaderString,
  memorySeen,
  type IdempotencyRecord,
  type SeenHook,
  type VerifiedWebhook,
  type KeyAllowed,
  type RedirectData,
  type RenewedSecret,
  type Verified,
} from "payseal";
// A subpath: only the webhook part, with its own smaller Wasm module.
import { Webhooks as OnlyWebhooks, PaysealError as SubpathError } from "payseal/webhooks";

const body = JSON.stringify({ id: "evt_1", type: "payment_intent.succeeded" });
const now = 1_719_500_000;

const stripe = new Webhooks({ scheme: "stripe", secrets: ["whsec_old", "whsec_new"] });
const headers = new WebhookSigner({ scheme: "stripe", secret: "whsec_new" }).sign(body, { timestamp: now });
const verified: Verified = stripe.verify(body, headers, { now, tolerance: 300 });
const index: number = verified.secretIndex;

const incoming: Record<string, string | string[] | undefined> = { "stripe-signature": headers["stripe-signature"] };
stripe.verify(new TextEncoder().encode(body), incoming, { now: new Date(now * 1000) });

try {
  stripe.verify(body + " ", new Headers(headers), { now });
} catch (error) {
  if (error instanceof PaysealError) {
    const code: string = error.code;
    void code;
  }
}

const dvpayHeaders = new DvpaySigner({ apiKey: "ak_live_1", secret: "dvp_sec" }).sign(body, {
  timestamp: now,
  idempotencyKey: "6f1c6f1c-0000-4000-8000-000000000000",
});
const signature: string = dvpayHeaders["X-Signature"];
new DvpayVerifier({ secrets: ["dvp_sec"] }).verify(body, dvpayHeaders, { now });

const cyber = new CybersourceSigner({ keyId: "k1", secret: "4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=" });
const signed = cyber.sign({ host: "api.cybersource.com", method: "POST", target: "/pts/v2/payments", merchantId: "m", body }, { now });
const digest: string | null = signed.digest;
new CybersourceVerifier({ keys: [{ keyId: "k1", secret: "4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=" }] }).verify(
  { method: "POST", target: "/pts/v2/payments", headers: signed.headers, body },
  { now },
);

const opener = new RedirectOpener({ environment: "test", clientSecret: "cs_test_x", kdf: "sha256", profile: "v1" });
const token = opener.seal({ sessionId: "S-1", status: "completed" });
const data: RedirectData = opener.open(token, { now });
const status: "completed" | "failed" | "cancelled" | "pending" = data.status;

const record = createKeyRecord({ id: "k_live", key: "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2", environment: "live" });
const checker = new KeyChecker({ policy: { accepted_formats: ["prefixed"] }, records: [record] });
const allowed: KeyAllowed = checker.check(
  { apiKey: "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2", method: "POST", path: "/external/v1/payment/session", clientIp: "203.0.113.7" },
  { now },
);
const renewal = shouldRenew({ issuedAt: now, expiresIn: 3600 }, { now: now + 3500 });
if (renewal.action === "wait_until") void renewal.at;

const request = { key: "order-1", method: "POST", path: "/pay", body, environment: "live" as const, keyId: allowed.keyId };
const store = new Map<string, IdempotencyRecord>();
const decision = decide(store.get(storageKey(request)) ?? null, request, { now });
if (decision.outcome === "execute") {
  const completion = finish(decision.record, { status: 201, headers: { "content-type": "application/json" }, body: "{}" });
  if (completion.outcome === "store") store.set(storageKey(request), completion.record);
} else if (decision.outcome === "replay") {
  const replayed: Uint8Array = decision.response.body;
  void replayed;
}

const rfc = new HttpMessageSigner({ secret: "oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=", keyId: "psk-live-2025" });
const url = new URL("https://api.example-psp.com/v1/payments");
const fields = rfc.sign({ method: "POST", url, headers: { "content-type": "application/json" }, body, components: ["@method", "@authority", "content-digest"] }, { now });
const init: RequestInit = { method: "POST", body, headers: { "content-type": "application/json", ...(fields as Record<string, string>) } };
new HttpMessageVerifier({ keys: { "psk-live-2025": "oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=" } }).verify(
  { method: "POST", url, headers: new Headers(init.headers), body },
  { now, required: ["@method", "content-digest"] },
);
const digestHeader: string = contentDigest(body, "sha-512");

// Secret renewal (MyPVit-style): one renewal for any number of concurrent callers.
const renewer = new SecretRenewer({
  renew: () =>
    requestSecretRenewal({ baseUrl: "https://api.provider.example/v2", codeUrl: "RCV01", accountCode: "ACC_PROD_001", password: "pw" }),
  marginSeconds: 300,
  minIntervalSeconds: 60,
});
async function callProvider(path: string): Promise<Response> {
  const secret: RenewedSecret = await renewer.current();
  const first = await fetch(`https://api.provider.example/v2${path}`, { headers: { "X-Secret": secret.expose() } });
  if (first.status !== 401) return first;
  const renewed = await renewer.onUnauthorized(secret);
  return fetch(`https://api.provider.example/v2${path}`, { headers: { "X-Secret": renewed.expose() } });
}
callProvider("/status").catch((error: unknown) => {
  if (error instanceof PaysealError && error.code === "rate_limited") void error.retryAfterSeconds;
});
const expiresAt: number | undefined = renewer.expiresAt;

// Webhooks as stripe and svix users know them: the parsed event, a replay guard.
const guarded = new Webhooks({ scheme: "standard_webhooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", seen: memorySeen({ maxEntries: 50_000 }) });
const swHeaders = new WebhookSigner({ scheme: "standard_webhooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }).sign(body, { timestamp: now });
const delivered: VerifiedWebhook = guarded.verify(body, swHeaders, { now });
const eventType = (delivered.event as { type: string }).type;
const messageId: string | null = delivered.id;
const shared: SeenHook = async (id, expiresAt) => id.length > 0 && expiresAt > 0; // e.g. Redis SET NX EXAT
void guarded.verifyAsync(body, swHeaders, { now, seen: shared }).then((v) => v.timestamp);

// stripe-node: stripe.webhooks.constructEvent(payload, header, secret)
const stripeHeader: string = generateTestHeaderString({ payload: body, secret: "whsec_new", timestamp: now });
const stripeEvent = constructEvent(body, stripeHeader, "whsec_new", { now }) as { id: string };
// svix / standardwebhooks: new Webhook(secret).verify(payload, headers)
const svix = new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
try {
  const payload = svix.verify(body, { "svix-id": "msg_1", "svix-timestamp": String(now), "svix-signature": svix.sign("msg_1", new Date(now * 1000), body) });
  void payload;
} catch (error) {
  if (error instanceof WebhookVerificationError) void error.code;
}

const small = new OnlyWebhooks({ scheme: "stripe", secret: "whsec_new" });
const sameClass: boolean = SubpathError === PaysealError;
small.verify(body, { "stripe-signature": stripeHeader }, { now });

stripe.free();
opener[Symbol.dispose]();

void [index, signature, digest, status, digestHeader, expiresAt, eventType, messageId, stripeEvent.id, sameClass];
