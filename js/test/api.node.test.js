// Behaviour of the JS layer itself: argument forms, TypeErrors instead of Wasm
// traps, coded errors, freeing, JSON-able idempotency records, round trips.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as p from "payseal";

const now = 1_719_500_000;
const SECRET = "whsec_test_secret_9a8b7c6d5e4f";
const body = '{"id":"evt_1","amount":"10.50 €"}';
const stripe = new p.Webhooks({ scheme: "stripe", secrets: ["whsec_other", SECRET] });
const headers = new p.WebhookSigner({ scheme: "stripe", secret: SECRET }).sign(body, { timestamp: now });

test("every body form verifies the same bytes", () => {
  const bytes = new TextEncoder().encode(body);
  for (const form of [body, bytes, Buffer.from(body), bytes.buffer.slice(0), new DataView(bytes.buffer)]) {
    const verified = stripe.verify(form, headers, { now });
    assert.deepEqual([verified.secretIndex, verified.timestamp, verified.event], [1, now, JSON.parse(body)]);
  }
});

test("every header container works; repeated fields combine as HTTP does", () => {
  const sig = headers["stripe-signature"];
  const forms = [
    { "Stripe-Signature": sig, "x-other": ["a", "b"], "x-none": undefined },
    new Headers({ "stripe-signature": sig }),
    new Map([["stripe-signature", sig]]),
    [["STRIPE-SIGNATURE", sig]],
  ];
  for (const form of forms) assert.equal(stripe.verify(body, form, { now }).secretIndex, 1);
  // An array value: each element a separate field value, joined with ", ".
  const [t, v1] = sig.split(",");
  assert.equal(stripe.verify(body, { "stripe-signature": [t, v1] }, { now }).secretIndex, 1);
});

test("now accepts a Date and defaults to the clock", () => {
  assert.equal(stripe.verify(body, headers, { now: new Date(now * 1000) }).secretIndex, 1);
  const fresh = new p.WebhookSigner({ scheme: "stripe", secret: SECRET }).sign(body);
  assert.equal(stripe.verify(body, fresh).secretIndex, 1);
  assert.throws(() => stripe.verify(body, headers), { name: "PaysealError", code: "stale_timestamp" });
});

test("failures are PaysealErrors with the spec's code", () => {
  const error = (() => {
    try {
      stripe.verify(`${body} `, headers, { now });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof p.PaysealError);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "PaysealError");
  assert.equal(error.code, "bad_signature");
  assert.match(error.stack, /PaysealError: no signature matches/);
  assert.throws(() => stripe.verify(body, headers, { now: now + 301, tolerance: 300 }), { code: "stale_timestamp" });
  assert.equal(stripe.verify(body, headers, { now: now + 301, tolerance: 400 }).secretIndex, 1);
});

test("bad argument types are TypeErrors, never Wasm traps", () => {
  const calls = [
    () => stripe.verify(42, headers, { now }),
    () => stripe.verify(body, null, { now }),
    () => stripe.verify(body, "stripe-signature: x", { now }),
    () => stripe.verify(body, headers, { now: "soon" }),
    () => stripe.verify(body, headers, { now: -1 }),
    () => stripe.verify(body, headers, { now, tolerance: 1.5 }),
    () => stripe.verify(body, { "x-bad": "a\0b" }, { now }),
    () => new p.Webhooks({ scheme: "paypal", secrets: ["x"] }),
    () => new p.Webhooks({ scheme: "stripe", secrets: [] }),
    () => new p.Webhooks({ scheme: "stripe", secrets: [1] }),
    () => new p.Webhooks(),
    () => new p.DvpaySigner({ apiKey: 1, secret: "s" }),
    () => new p.RedirectOpener({ environment: "staging", clientSecret: "x" }),
    () => new p.RedirectOpener({ environment: "live", clientSecret: "x", kdf: "md5" }),
    () => new p.KeyChecker({ records: [{ id: "k" }] }),
    () => new p.KeyChecker({ policy: { unknown: 1 }, records: [] }),
    () => new p.KeyChecker({ records: [] }).check({ method: "GET", path: "/", clientIp: "not-an-ip" }, { now }),
    () => p.decide({ nonsense: true }, { key: "k", method: "POST", path: "/", environment: "live", keyId: "k" }),
    () => p.decide(null, { key: "k", method: "POST", path: "/", environment: "prod", keyId: "k" }),
    () => new p.HttpMessageSigner({ secret: "x" }).sign({ method: "GET", url: "https://a/", components: ["@method"], params: [["created", 1.5]] }),
  ];
  for (const call of calls) assert.throws(call, TypeError, String(call));
});

test("free() and Symbol.dispose wipe the holder; use afterwards is a TypeError", () => {
  const wh = new p.Webhooks({ scheme: "stripe", secrets: [SECRET] });
  assert.equal(typeof wh[Symbol.dispose], "function");
  wh.free();
  wh.free();
  assert.throws(() => wh.verify(body, headers, { now }), /has been freed/);
  const other = new p.DvpaySigner({ apiKey: "a", secret: "s" });
  other[Symbol.dispose]();
  assert.throws(() => other.sign(body), TypeError);
});

test("forgotten holders are freed by a FinalizationRegistry (wasm-bindgen glue)", () => {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("payseal/package.json"));
  for (const glue of ["pkg/esm/wasm/payseal_wasm.js", "pkg/cjs/wasm/payseal_wasm.js"]) {
    const source = readFileSync(join(root, glue), "utf8");
    for (const cls of ["HeaderVerifier", "DvpaySigner", "StripeSigner", "StandardWebhooksSigner", "CybersourceSigner", "CybersourceVerifier", "RedirectOpener", "KeyChecker", "HttpMessageSigner", "HttpMessageVerifier"]) {
      assert.match(source, new RegExp(`const ${cls}Finalization = \\(typeof FinalizationRegistry === 'undefined'\\)`), `${glue}: ${cls}`);
      assert.match(source, new RegExp(`${cls}Finalization\\.register\\(this, this\\.__wbg_ptr, this\\)`), `${glue}: ${cls}`);
    }
  }
});

test("DVPay: four headers, verify round trip, rotation index", () => {
  const signed = new p.DvpaySigner({ apiKey: "ak_live_1", secret: "new" }).sign(body, { timestamp: now, idempotencyKey: "k-1" });
  assert.deepEqual(Object.keys(signed), ["X-Api-Key", "X-Timestamp", "X-Signature", "X-Idempotent-Key"]);
  assert.equal(signed["X-Api-Key"], "ak_live_1");
  assert.equal(signed["X-Timestamp"], String(now));
  assert.match(signed["X-Signature"], /^[0-9a-f]{64}$/);
  const random = new p.DvpaySigner({ apiKey: "a", secret: "new" }).sign(body, { timestamp: now });
  assert.match(random["X-Idempotent-Key"], /^[0-9a-f-]{36}$/);
  assert.deepEqual(new p.DvpayVerifier({ secrets: ["old", "new"] }).verify(body, signed, { now }), { secretIndex: 1 });
});

test("Cybersource: default date, digest on POST only, verify names the key", () => {
  const signer = new p.CybersourceSigner({ keyId: "k2", secret: "4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=" });
  const post = signer.sign({ host: "api.cybersource.com", method: "POST", target: "/pts/v2/payments", merchantId: "m", body }, { now });
  assert.equal(post.date, "Thu, 27 Jun 2024 14:53:20 GMT");
  assert.match(post.digest, /^SHA-256=/);
  const get = signer.sign({ host: "api.cybersource.com", method: "GET", target: "/x", merchantId: "m" }, { now });
  assert.equal(get.digest, null);
  const verifier = new p.CybersourceVerifier({
    keys: [
      { keyId: "k1", secret: "AAAAAAAAAAAAAAAAAAAAAA==" },
      { keyId: "k2", secret: "4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=" },
    ],
  });
  assert.deepEqual(verifier.verify({ method: "POST", target: "/pts/v2/payments", headers: post.headers, body }, { now }), { secretIndex: 1, keyId: "k2" });
  assert.throws(() => verifier.verify({ method: "POST", target: "/pts/v2/payments", headers: post.headers, body: `${body}x` }, { now }), { code: "bad_digest" });
});

test("redirect: seal/open round trip, unknown fields kept, expiry, transport dialects", () => {
  const opener = new p.RedirectOpener({ environment: "live", clientSecret: "cs_live_x", clockSkew: 5 });
  const token = opener.seal({ sessionId: "S-1", status: "completed", exp: now, custom: { a: [1, 2] } });
  assert.deepEqual(opener.open(token, { now }), { sessionId: "S-1", status: "completed", exp: now, custom: { a: [1, 2] } });
  assert.equal(opener.open(token, { now: now + 5 }).sessionId, "S-1");
  assert.throws(() => opener.open(token, { now: now + 6 }), { code: "expired" });
  assert.equal(opener.open(encodeURIComponent(token.replace(/-/g, "+").replace(/_/g, "/")), { now }).sessionId, "S-1");
  assert.throws(() => opener.open("x".repeat(16 * 1024 + 1), { now }), { code: "too_large" });
  assert.throws(() => new p.RedirectOpener({ environment: "test", clientSecret: "cs_live_x" }).open(token, { now }), { code: "authentication" });
  assert.throws(() => new p.RedirectOpener({ environment: "live", clientSecret: "x", profile: "legacy-cbc" }).seal({ sessionId: "s", status: "completed" }), { code: "unsupported_profile" });
});

test("keys: createKeyRecord + KeyChecker; refusals carry status, responseCode and body", () => {
  const key = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
  const record = p.createKeyRecord({ id: "k_live", key, environment: "live" });
  assert.equal(record.key_sha256.length, 64);
  assert.ok(!JSON.stringify(record).includes(key));
  const checker = new p.KeyChecker({ records: [{ ...record, allowed_ips: ["203.0.113.0/24"] }] });
  assert.deepEqual(checker.check({ apiKey: key, method: "POST", path: "/external/v1/pay", clientIp: "::ffff:203.0.113.9" }, { now }), { keyId: "k_live", environment: "live" });
  const refusal = (() => {
    try {
      checker.check({ apiKey: key, method: "POST", path: "/external/v1/test/pay", clientIp: "203.0.113.9" }, { now });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(refusal instanceof p.PaysealError);
  assert.equal(refusal.code, "environment_mismatch");
  assert.equal(refusal.status, 403);
  assert.equal(refusal.responseCode, "SCOPE_DENIED");
  assert.deepEqual(JSON.parse(refusal.body), { status: 403, code: "SCOPE_DENIED", message: refusal.message });
  assert.throws(() => checker.check({ apiKey: null, method: "GET", path: "/" }, { now }), { code: "missing_key", status: 401 });
  assert.throws(() => new p.KeyChecker({ records: [record, record] }), { name: "PaysealError", code: "invalid_config" });
});

test("renewal helper", () => {
  assert.deepEqual(p.shouldRenew({ issuedAt: 0, expiresIn: 3600 }, { now: 100 }), { action: "wait_until", at: 3240 });
  assert.deepEqual(p.shouldRenew({ issuedAt: 0, expiresIn: 3600 }, { now: 100, authenticationFailed: true }), { action: "renew_now" });
  assert.deepEqual(p.shouldRenew({ issuedAt: 0, expiresIn: 3600, lastRenewalAt: 90 }, { now: 100, authenticationFailed: true }), { action: "rate_limited", retryAt: 150 });
});

test("idempotency: JSON-able records, replay with bytes, release on 5xx", () => {
  const req = { key: "order-1", method: "POST", path: "/pay", body: Buffer.from(body), environment: "live", keyId: "k_live" };
  const store = new Map();
  const key = p.storageKey(req);
  assert.match(key, /^idem:live:\{[0-9a-f]{64}\}$/);
  const first = p.decide(store.get(key) ?? null, req, { now });
  assert.equal(first.outcome, "execute");
  store.set(key, JSON.parse(JSON.stringify(first.record)));
  assert.deepEqual(p.decide(store.get(key), req, { now }), {
    outcome: "conflict",
    status: 409,
    code: "IDEMPOTENCY_KEY_IN_PROGRESS",
    message: "Idempotency key is already being processed.",
    body: '{"status":409,"code":"IDEMPOTENCY_KEY_IN_PROGRESS","message":"Idempotency key is already being processed."}',
  });
  const done = p.finish(store.get(key), { status: 201, headers: { "content-type": "application/json" }, body: '{"ok":true}' });
  assert.equal(done.outcome, "store");
  store.set(key, JSON.parse(JSON.stringify(done.record)));
  const replay = p.decide(store.get(key), { ...req, body }, { now: now + 1 });
  assert.equal(replay.outcome, "replay");
  assert.equal(replay.response.status, 201);
  assert.deepEqual(replay.response.headers, [["content-type", "application/json"]]);
  assert.equal(new TextDecoder().decode(replay.response.body), '{"ok":true}');
  assert.equal(p.decide(store.get(key), { ...req, body: "other" }, { now }).message, "Idempotency key reused with a different request body.");
  assert.deepEqual(p.finish(first.record, { status: 502 }), { outcome: "release" });
  assert.deepEqual(p.finish(first.record, "not_sent"), { outcome: "release" });
  const unknown = p.finish(first.record, null);
  assert.equal(unknown.outcome, "keep_unknown", "a request sent and never answered keeps its key");
  assert.equal(unknown.record.state.state ?? unknown.record.state, "outcome_unknown");
});

test("RFC 9421: default params, Content-Digest made, Headers round trip", () => {
  const secret = "oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=";
  const url = new URL("https://api.example-psp.com/v1/payments?expand=charges");
  const signer = new p.HttpMessageSigner({ secret, keyId: "psk-live-2025" });
  const signed = signer.sign({ method: "POST", url, headers: { "content-type": "application/json" }, body, components: ["@method", "@authority", "@path", "@query", "content-type", "content-digest"] }, { now });
  assert.equal(signed["content-digest"], p.contentDigest(body));
  assert.match(signed["signature-input"], new RegExp(`^sig1=\\(.*\\);created=${now};keyid="psk-live-2025"$`));
  const request = new Request(url, { method: "POST", body, headers: { "content-type": "application/json", ...signed } });
  const verifier = new p.HttpMessageVerifier({ keys: new Map([["psk-live-2025", secret]]) });
  assert.deepEqual(verifier.verify({ method: request.method, url: request.url, headers: request.headers, body }, { now, required: ["@method", "content-digest"] }), { label: "sig1", keyId: "psk-live-2025" });
  assert.throws(() => verifier.verify({ method: "POST", url, headers: request.headers, body }, { now, required: ["date"] }), { code: "insufficient_coverage" });
  assert.throws(() => new p.HttpMessageVerifier({ keys: { other: secret } }).verify({ method: "POST", url, headers: request.headers, body }, { now }), { code: "unknown_key" });
});
