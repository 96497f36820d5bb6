// payseal benchmark: one process, the same inputs for every contender, the
// median of repeated timed rounds (contenders interleaved round by round).
// Each figure is printed as a ratio: payseal's throughput ÷ the other's
// (×1.25 = payseal 25 % faster). Sizes: 64 B, 1 KiB, 64 KiB bodies.
//
//   npm run bench            (builds pkg/ first when it is missing)
import { createDecipheriv, createHash, createHmac, timingSafeEqual, webcrypto } from "node:crypto";
import process from "node:process";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { createHMAC, createSHA256 } from "hash-wasm";
import Stripe from "stripe";
import { Webhook as StandardWebhook } from "standardwebhooks";
import * as payseal from "payseal";
import { printWeight } from "./weight.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 25);
const SIZES = [
  ["64 B", 64],
  ["1 KiB", 1024],
  ["64 KiB", 64 * 1024],
];
const subtle = webcrypto.subtle;
const te = new TextEncoder();

/** A JSON body of exactly `size` bytes. */
function jsonBody(size) {
  const head = '{"id":"evt_1NG8Du2eZvKYlo2C","type":"payment_intent.succeeded","pad":"';
  const tail = '"}';
  return Buffer.from(head + "x".repeat(Math.max(0, size - head.length - tail.length)) + tail).subarray(0, size);
}

/** Median of the rounds' ops/s for each contender; contenders interleaved. */
async function measure(contenders) {
  const names = Object.keys(contenders);
  const iterations = {};
  for (const name of names) {
    const f = contenders[name];
    for (let i = 0; i < 200; i++) await f(); // warm up
    let n = 1;
    for (;;) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await f();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ms >= ROUND_MS / 4 || n >= 1 << 22) {
        iterations[name] = Math.max(1, Math.round((n * ROUND_MS) / Math.max(ms, 0.001)));
        break;
      }
      n *= 2;
    }
  }
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) {
      const f = contenders[name];
      const n = iterations[name];
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await f();
      samples[name].push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

const rows = [];
function report(group, size, results, base = "payseal") {
  for (const [name, ops] of Object.entries(results)) {
    if (name === base) continue;
    rows.push({ group, size, vs: name, ratio: results[base] / ops, payseal: results[base], other: ops });
  }
}

// A wrong result would make a fast contender meaningless: check each once.
function check(label, value) {
  if (!value) throw new Error(`benchmark self-check failed: ${label}`);
}

const secret = "dvp_sec_7Hq2Lm9Xc4Rt8Vb1";
const whsec = "whsec_test_secret_9a8b7c6d5e4f";
const standardSecret = "whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr";
const timestamp = Math.floor(Date.now() / 1000);
const ts = String(timestamp);
const tsBytes = te.encode(ts);
const keyBytes = te.encode(secret);

const dvpaySigner = new payseal.DvpaySigner({ apiKey: "ak_bench", secret });
const dvpayVerifier = new payseal.DvpayVerifier({ secrets: [secret] });
const webCryptoKey = await subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
const hashWasmHmac = await createHMAC(createSHA256(), keyBytes);
const stripeWebhooks = new Stripe("sk_test_bench_not_used").webhooks;
const standardWebhook = new StandardWebhook(standardSecret);
const paysealStripe = new payseal.Webhooks({ scheme: "stripe", secrets: [whsec] });
const paysealStandard = new payseal.Webhooks({ scheme: "standard_webhooks", secrets: [standardSecret] });

/** Constant-time equality (what a careful @noble/hashes user writes). */
const equalBytes = (a, b) => {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
};

const concat = (a, b) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

for (const [size, bytes] of SIZES) {
  const body = jsonBody(bytes);
  const expectedHex = createHmac("sha256", secret).update(body).update(ts).digest("hex");

  // HMAC-SHA256 sign: hex(HMAC(secret, body ‖ timestamp)), the DVPay signature.
  const sign = {
    payseal: () => dvpaySigner.signature(body, { timestamp }),
    "node:crypto": () => createHmac("sha256", secret).update(body).update(ts).digest("hex"),
    WebCrypto: async () => Buffer.from(await subtle.sign("HMAC", webCryptoKey, concat(body, tsBytes))).toString("hex"),
    "@noble/hashes": () => bytesToHex(nobleHmac.create(nobleSha256, keyBytes).update(body).update(tsBytes).digest()),
    "hash-wasm": () => hashWasmHmac.init().update(body).update(tsBytes).digest("hex"),
  };
  for (const [name, f] of Object.entries(sign)) check(`sign ${name} ${size}`, (await f()) === expectedHex);
  report("HMAC sign", size, await measure(sign));

  // HMAC-SHA256 verify: the same MAC checked against a presented hex signature, with the timestamp window.
  const headers = { "x-timestamp": ts, "x-signature": expectedHex };
  const presented = Buffer.from(expectedHex, "hex");
  const fresh = (t) => Math.abs(Math.floor(Date.now() / 1000) - Number(t)) <= 300;
  const verify = {
    payseal: () => dvpayVerifier.verify(body, headers).secretIndex === 0,
    "node:crypto": () => {
      const t = headers["x-timestamp"];
      if (!fresh(t)) return false;
      const mac = createHmac("sha256", secret).update(body).update(t).digest();
      const sig = Buffer.from(headers["x-signature"], "hex");
      return sig.length === mac.length && timingSafeEqual(mac, sig);
    },
    WebCrypto: async () => fresh(headers["x-timestamp"]) && subtle.verify("HMAC", webCryptoKey, presented, concat(body, tsBytes)),
    "@noble/hashes": () =>
      fresh(headers["x-timestamp"]) &&
      equalBytes(nobleHmac.create(nobleSha256, keyBytes).update(body).update(tsBytes).digest(), presented),
    "hash-wasm": () => fresh(headers["x-timestamp"]) && hashWasmHmac.init().update(body).update(tsBytes).digest("hex") === headers["x-signature"],
  };
  for (const [name, f] of Object.entries(verify)) check(`verify ${name} ${size}`, (await f()) === true);
  report("HMAC verify", size, await measure(verify));

  // Stripe-style webhook verification over the raw body.
  const stripeHeader = new payseal.WebhookSigner({ scheme: "stripe", secret: whsec }).sign(body, { timestamp })["stripe-signature"];
  const stripeHeaders = { "stripe-signature": stripeHeader, "content-type": "application/json", "user-agent": "Stripe/1.0" };
  const webhook = {
    payseal: () => paysealStripe.verify(body, stripeHeaders).secretIndex === 0,
    "node:crypto (hand-written)": () => {
      const header = stripeHeaders["stripe-signature"];
      let t;
      const v1 = [];
      for (const item of header.split(",")) {
        const [k, v] = item.split("=");
        if (k === "t") t = v;
        else if (k === "v1") v1.push(v);
      }
      if (t === undefined || !fresh(t)) return false;
      const mac = createHmac("sha256", whsec).update(`${t}.`).update(body).digest();
      return v1.some((s) => {
        const sig = Buffer.from(s, "hex");
        return sig.length === mac.length && timingSafeEqual(mac, sig);
      });
    },
    stripe: () => stripeWebhooks.signature.verifyHeader(body, stripeHeader, whsec, 300),
  };
  for (const [name, f] of Object.entries(webhook)) check(`webhook ${name} ${size}`, (await f()) === true);
  report("webhook verify (stripe scheme)", size, await measure(webhook));

  // Standard Webhooks verification (no JSON parsing on either side).
  const standardHeaders = new payseal.WebhookSigner({ scheme: "standard_webhooks", secret: standardSecret }).sign(body, {
    timestamp,
    id: "msg_2Lq0aBcD0eFgH",
  });
  const bodyText = body.toString("utf8");
  const standard = {
    payseal: () => paysealStandard.verify(bodyText, standardHeaders).secretIndex === 0,
    standardwebhooks: () => standardWebhook.verify(bodyText, standardHeaders, { jsonParse: false }) !== null,
  };
  for (const [name, f] of Object.entries(standard)) check(`standard ${name} ${size}`, (await f()) === true);
  report("webhook verify (standard_webhooks)", size, await measure(standard));
}

// Redirect data: AES-256-GCM token opened (decode, decrypt, JSON) vs createDecipheriv by hand.
{
  const clientSecret = "cs_live_4f8a1c2e9b7d6a5f3e2d1c0b";
  const opener = new payseal.RedirectOpener({ environment: "live", clientSecret });
  const payload = { sessionId: "SHOP01-EXT-1719500000", status: "completed", paymentReference: "KVGQSN3K2SKFNVNS", amount: { value: 10000, currency: "EUR" }, orderId: "order-12345" };
  const token = opener.seal(payload);
  const key = createHash("sha256").update(clientSecret).digest();
  const aad = Buffer.from("payseal-redirect-v1|live");
  const now = Math.floor(Date.now() / 1000);
  const redirect = {
    payseal: () => opener.open(token, { now }).sessionId,
    "node:crypto createDecipheriv": () => {
      const raw = Buffer.from(token, "base64url");
      if (raw[0] !== 1 || raw.length < 29) throw new Error("malformed");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(1, 13));
      decipher.setAAD(aad);
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const plain = Buffer.concat([decipher.update(raw.subarray(13, raw.length - 16)), decipher.final()]);
      const data = JSON.parse(plain.toString("utf8"));
      if (typeof data.sessionId !== "string" || (data.exp !== undefined && now > data.exp)) throw new Error("invalid");
      return data.sessionId;
    },
  };
  for (const [name, f] of Object.entries(redirect)) check(`redirect ${name}`, (await f()) === payload.sessionId);
  report("redirect open", `${token.length} B token`, await measure(redirect));
}

const fmt = (ops) => (ops >= 1e6 ? `${(ops / 1e6).toFixed(2)} M/s` : `${(ops / 1e3).toFixed(1)} k/s`);
console.log(`payseal benchmark — node ${process.version}, ${ROUNDS} rounds of ~${ROUND_MS} ms, median; ratio = payseal ÷ other (higher is better for payseal)\n`);
let group = "";
for (const r of rows) {
  if (r.group !== group) {
    group = r.group;
    console.log(`${group}`);
  }
  console.log(`  ${r.size.padEnd(14)} vs ${r.vs.padEnd(30)} ×${r.ratio.toFixed(2).padStart(6)}   (payseal ${fmt(r.payseal)}, other ${fmt(r.other)})`);
}

// Sizes and import cost, in the same run (js/bench/weight.js).
await printWeight();

const target = rows.find((r) => r.group === "HMAC sign" && r.size === "1 KiB" && r.vs === "node:crypto");
const verifyTarget = rows.find((r) => r.group === "HMAC verify" && r.size === "1 KiB" && r.vs === "node:crypto");
console.log(`\ntarget HMAC-SHA256 at 1 KiB ≥ ×0.70 of node:crypto: sign ×${target.ratio.toFixed(2)}, verify ×${verifyTarget.ratio.toFixed(2)} (this run)`);
