// The subpath exports (`payseal/webhooks`, `payseal/signing`,
// `payseal/redirect`, `payseal/keys`), runtime-agnostic: each is its own
// smaller Wasm module, exports what `payseal` exports under the same names,
// and throws the one PaysealError class. The webhook cases run again through
// `payseal/webhooks` (with the DVPay classes of `payseal/signing`: a user
// importing two subpaths). Each harness hands over the modules it imported.
import { runWebhookCases } from "./webhook-cases.js";

const EXPECTED = {
  webhooks: ["Webhooks", "WebhookSigner", "Webhook", "WebhookVerificationError", "constructEvent", "generateTestHeaderString", "memorySeen"],
  signing: ["DvpaySigner", "DvpayVerifier", "CybersourceSigner", "CybersourceVerifier", "HttpMessageSigner", "HttpMessageVerifier", "contentDigest"],
  redirect: ["RedirectOpener"],
  keys: ["KeyChecker", "createKeyRecord", "shouldRenew", "storageKey", "decide", "finish", "SecretRenewer", "RenewedSecret", "requestSecretRenewal"],
};

function fail(message) {
  throw new Error(message);
}

/**
 * @param {object} root the `payseal` module
 * @param {{ webhooks: object, signing: object, redirect: object, keys: object }} subs
 */
export function subpathCases(root, subs) {
  const cases = [];
  const add = (id, run) => cases.push({ id: `subpaths/${id}`, run });
  for (const [name, names] of Object.entries(EXPECTED)) {
    add(`payseal/${name} exports its part of payseal and the one PaysealError`, () => {
      const sub = subs[name];
      if (sub === undefined || sub === null) return `payseal/${name} was not imported`;
      for (const n of names) {
        if (typeof sub[n] !== "function") fail(`payseal/${name} has no ${n}`);
        if (typeof root[n] !== "function") fail(`payseal has no ${n}`);
      }
      const extra = Object.keys(sub).filter((n) => !names.includes(n) && n !== "PaysealError" && n !== "default");
      if (extra.length > 0) fail(`payseal/${name} also exports ${extra.join(", ")}`);
      if (sub.PaysealError !== root.PaysealError) fail(`payseal/${name}'s PaysealError is another class`);
      return null;
    });
  }
  add("payseal/signing signs and verifies DVPay; its errors are PaysealErrors", () => {
    const { DvpaySigner, DvpayVerifier } = subs.signing;
    const headers = new DvpaySigner({ apiKey: "ak", secret: "dvp_sub" }).sign('{"a":1}', { timestamp: 1_719_500_000 });
    const v = new DvpayVerifier({ secrets: ["dvp_other", "dvp_sub"] });
    if (v.verify('{"a":1}', headers, { now: 1_719_500_000 }).secretIndex !== 1) fail("secretIndex");
    try {
      v.verify('{"a":2}', headers, { now: 1_719_500_000 });
    } catch (e) {
      if (!(e instanceof root.PaysealError) || e.code !== "bad_signature") fail(`got ${e}`);
      return null;
    }
    return "a changed body verified";
  });
  add("payseal/redirect seals and opens", () => {
    const opener = new subs.redirect.RedirectOpener({ environment: "test", clientSecret: "cs_test_sub" });
    const token = opener.seal({ sessionId: "S-1", status: "completed" });
    if (opener.open(token).sessionId !== "S-1") fail("sessionId");
    return null;
  });
  add("payseal/keys checks a key", () => {
    const { KeyChecker, createKeyRecord } = subs.keys;
    const key = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
    const checker = new KeyChecker({ records: [createKeyRecord({ id: "k1", key, environment: "live" })] });
    if (checker.check({ apiKey: key, method: "GET", path: "/v1/x" }).keyId !== "k1") fail("keyId");
    try {
      checker.check({ apiKey: `${key}x`, method: "GET", path: "/v1/x" });
    } catch (e) {
      if (!(e instanceof root.PaysealError)) fail(`got ${e}`);
      return null;
    }
    return "an unknown key passed";
  });
  return cases;
}

/** Runs the subpath cases and the webhook cases through `payseal/webhooks`. */
export async function runSubpathCases(root, subs, fixtures) {
  let passed = 0;
  const failures = [];
  for (const { id, run } of subpathCases(root, subs)) {
    let why;
    try {
      why = await run();
    } catch (e) {
      why = e && e.stack ? e.stack : String(e);
    }
    if (why === null) passed += 1;
    else failures.push({ id, why });
  }
  const viaSubpath = { ...subs.webhooks, DvpaySigner: subs.signing.DvpaySigner, DvpayVerifier: subs.signing.DvpayVerifier };
  const webhooks = await runWebhookCases(viaSubpath, fixtures);
  for (const f of webhooks.failures) failures.push({ id: `payseal/webhooks ${f.id}`, why: f.why });
  return { passed: passed + webhooks.passed, failed: failures.length, failures };
}
