// Secret hygiene: a canary secret must never show in any thrown error (message,
// stack, properties), util.inspect, JSON.stringify, String() or any property
// (own or inherited, enumerable or not) of any payseal object.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import * as payseal from "payseal";

const CANARY = "CanaryZq7Wv3";
const b64 = (text) => Buffer.from(text, "utf8").toString("base64");
const SECRETS = {
  stripe: `whsec_${CANARY}stripe`,
  dvpay: `dvp_${CANARY}_dvpay`,
  standard: `whsec_${b64(`${CANARY}-standard-webhooks-key`)}`,
  cybersource: b64(`${CANARY}-cybersource-shared-secret`),
  rfc9421: b64(`${CANARY}-rfc9421-shared-secret`),
  client: `cs_live_${CANARY}_client`,
  apiKey: `sk_live_${CANARY}0000000000000000`,
};
const NEEDLES = [CANARY, ...Object.values(SECRETS), ...Object.values(SECRETS).map((s) => s.replace(/^whsec_/, ""))];
const body = '{"id":"evt_1"}';
const now = 1_719_500_000;

/** Every textual surface of a value. */
function surfaces(value) {
  const out = [];
  const push = (label, f) => {
    try {
      out.push([label, String(f())]);
    } catch (e) {
      out.push([`${label} threw`, String(e)]);
    }
  };
  push("inspect", () => inspect(value, { showHidden: true, depth: 8, getters: true }));
  push("JSON.stringify", () => JSON.stringify(value));
  push("String", () => String(value));
  if (value instanceof Error) {
    push("message", () => value.message);
    push("stack", () => value.stack);
  }
  const seen = new Set();
  for (let o = value; o !== null && o !== Object.prototype && o !== Error.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) {
      if (seen.has(key) || key === "constructor") continue;
      seen.add(key);
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d && "value" in d && typeof d.value !== "function") push(`property ${String(key)}`, () => inspect(d.value, { depth: 8 }));
    }
  }
  // eslint-disable-next-line guard-for-in
  for (const key in value) push(`for-in ${key}`, () => inspect(value[key], { depth: 8 }));
  return out;
}

function assertClean(name, value) {
  for (const [label, text] of surfaces(value)) {
    for (const needle of NEEDLES) {
      assert.ok(!text.includes(needle), `${name}: ${label} shows the secret (${needle.slice(0, 6)}…)`);
    }
  }
}

function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail("expected a throw");
}

const holders = {
  webhooksStripe: () => new payseal.Webhooks({ scheme: "stripe", secrets: [SECRETS.stripe] }),
  webhooksStandard: () => new payseal.Webhooks({ scheme: "standard_webhooks", secrets: [SECRETS.standard] }),
  stripeSigner: () => new payseal.WebhookSigner({ scheme: "stripe", secret: SECRETS.stripe }),
  standardSigner: () => new payseal.WebhookSigner({ scheme: "standard_webhooks", secret: SECRETS.standard }),
  dvpaySigner: () => new payseal.DvpaySigner({ apiKey: "ak_public", secret: SECRETS.dvpay }),
  dvpayVerifier: () => new payseal.DvpayVerifier({ secrets: [SECRETS.dvpay] }),
  cybersourceSigner: () => new payseal.CybersourceSigner({ keyId: "k1", secret: SECRETS.cybersource }),
  cybersourceVerifier: () => new payseal.CybersourceVerifier({ keys: [{ keyId: "k1", secret: SECRETS.cybersource }] }),
  redirect: () => new payseal.RedirectOpener({ environment: "live", clientSecret: SECRETS.client }),
  keyChecker: () =>
    new payseal.KeyChecker({ records: [payseal.createKeyRecord({ id: "k", key: SECRETS.apiKey, environment: "live" })] }),
  httpSigner: () => new payseal.HttpMessageSigner({ secret: SECRETS.rfc9421, keyId: "psk" }),
  httpVerifier: () => new payseal.HttpMessageVerifier({ keys: { psk: SECRETS.rfc9421 } }),
  svixShaped: () => new payseal.Webhook(SECRETS.standard, { seen: payseal.memorySeen() }),
};

test("a verified webhook (its parsed event and id) shows no secret", () => {
  const signer = holders.standardSigner();
  const headers = signer.sign(body, { timestamp: now, id: "msg_1" });
  const seen = payseal.memorySeen();
  const result = new payseal.Webhooks({ scheme: "standard_webhooks", secrets: [SECRETS.standard], seen }).verify(body, headers, { now });
  assert.equal(result.event.id, "evt_1");
  assertClean("verified webhook", result);
  assertClean("memorySeen", seen);
  const stripeHeader = payseal.generateTestHeaderString({ payload: body, secret: SECRETS.stripe, timestamp: now });
  assertClean("constructEvent", payseal.constructEvent(body, stripeHeader, SECRETS.stripe, { now }));
});

for (const [name, make] of Object.entries(holders)) {
  test(`holder ${name} shows no secret`, () => {
    const holder = make();
    assertClean(name, holder);
    holder.free();
    assertClean(`${name} after free`, holder);
    assertClean(`${name} use after free`, thrown(() => holder.verify?.(body, {}) ?? holder.sign?.(body) ?? holder.open?.("x") ?? holder.check?.({})));
  });
}

const failures = {
  "stripe bad_signature": () => holders.webhooksStripe().verify(body, { "stripe-signature": `t=${now},v1=${"0".repeat(64)}` }, { now }),
  "stripe invalid_secret": () =>
    new payseal.Webhooks({ scheme: "stripe", secrets: [`${SECRETS.stripe}\n`] }).verify(body, { "stripe-signature": `t=${now},v1=00` }, { now }),
  "standard invalid_secret": () =>
    new payseal.Webhooks({ scheme: "standard_webhooks", secrets: [`whsec_${CANARY}!!`] }).verify(
      body,
      { "webhook-id": "m", "webhook-timestamp": String(now), "webhook-signature": "v1,AA==" },
      { now },
    ),
  "standard missing_signature": () => holders.webhooksStandard().verify(body, {}, { now }),
  "dvpay stale": () => holders.dvpayVerifier().verify(body, { "x-timestamp": "1", "x-signature": "00" }, { now }),
  "dvpay sign invalid_secret": () => new payseal.DvpaySigner({ apiKey: "a", secret: ` ${SECRETS.dvpay}` }).sign(body),
  "cybersource invalid_secret": () => new payseal.CybersourceSigner({ keyId: "k", secret: `${CANARY}-not-base64` }).sign({ host: "h", method: "GET", target: "/", merchantId: "m" }),
  "cybersource bad_signature": () => {
    const headers = holders.cybersourceSigner().sign({ host: "h", method: "POST", target: "/x", merchantId: "m", body }, { now }).headers;
    holders.cybersourceVerifier().verify({ method: "POST", target: "/y", headers, body }, { now });
  },
  "redirect authentication": () => holders.redirect().open(new payseal.RedirectOpener({ environment: "live", clientSecret: "other" }).seal({ sessionId: "s", status: "completed" }), { now }),
  "redirect invalid_secret (hex)": () => new payseal.RedirectOpener({ environment: "live", clientSecret: SECRETS.client, kdf: "hex" }),
  "redirect invalid_payload": () => holders.redirect().seal(`{"note":"${CANARY}"}`),
  "keys unknown_key": () => holders.keyChecker().check({ apiKey: `${SECRETS.apiKey}1`, method: "GET", path: "/v1/x" }, { now }),
  "keys malformed_key": () => holders.keyChecker().check({ apiKey: `${SECRETS.apiKey}\n`, method: "GET", path: "/v1/x" }, { now }),
  "keys bearer": () => holders.keyChecker().check({ apiKey: `Bearer ${SECRETS.apiKey}`, method: "GET", path: "/v1/x" }, { now }),
  "rfc9421 invalid_secret": () =>
    new payseal.HttpMessageSigner({ secret: `${CANARY}!` }).sign({ method: "GET", url: "https://a.example/", components: ["@method"] }),
  "rfc9421 bad_signature": () => {
    const url = "https://a.example/p";
    const signed = holders.httpSigner().sign({ method: "GET", url, components: ["@method", "@path"] }, { now });
    holders.httpVerifier().verify({ method: "POST", url, headers: signed }, { now });
  },
  "constructor invalid_secret (standard, second secret)": () =>
    new payseal.Webhooks({ scheme: "standard_webhooks", secrets: [SECRETS.standard, `whsec_${CANARY}!!`] }),
  "constructor invalid_secret (svix-shaped)": () => new payseal.Webhook(`${CANARY} not base64`),
  "constructor invalid_secret (signer)": () => new payseal.WebhookSigner({ scheme: "stripe", secret: `${SECRETS.stripe} ` }),
  "constructEvent invalid_secret": () => payseal.constructEvent(body, `t=${now},v1=00`, `${SECRETS.stripe}\n`, { now }),
  "constructEvent bad_signature": () => payseal.constructEvent(body, `t=${now},v1=${"0".repeat(64)}`, SECRETS.stripe, { now }),
  "generateTestHeaderString invalid_secret": () => payseal.generateTestHeaderString({ payload: body, secret: ` ${SECRETS.stripe}` }),
  "replayed_signature": () => {
    const headers = holders.standardSigner().sign(body, { timestamp: now, id: "msg_1" });
    const wh = new payseal.Webhook(SECRETS.standard, { seen: payseal.memorySeen() });
    wh.verify(body, headers, { now });
    wh.verify(body, headers, { now });
  },
  "TypeError parsed body": () => holders.webhooksStripe().verify(JSON.parse(body), { "stripe-signature": "t=1,v1=00" }, { now }),
  "TypeError millisecond now": () => {
    const headers = holders.stripeSigner().sign(body, { timestamp: now });
    holders.webhooksStripe().verify(body, headers, { now: now * 1000 });
  },
  "TypeError secrets list": () => new payseal.Webhooks({ scheme: "stripe", secrets: [SECRETS.stripe, 7] }),
  "TypeError scheme": () => new payseal.Webhooks({ scheme: SECRETS.stripe, secrets: [SECRETS.stripe] }),
  "TypeError NUL in header": () => holders.webhooksStripe().verify(body, { "stripe-signature": `${SECRETS.stripe}\0` }, { now }),
  "TypeError header value type": () => holders.webhooksStripe().verify(body, { "stripe-signature": { secret: SECRETS.stripe } }, { now }),
};

for (const [name, fail] of Object.entries(failures)) {
  test(`error ${name} shows no secret`, () => {
    const error = thrown(fail);
    assert.ok(error instanceof Error, "a real Error");
    assertClean(name, error);
  });
}
