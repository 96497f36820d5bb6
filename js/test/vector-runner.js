// The one conformance runner of the npm package (shared/spec/vectors.md).
//
// Runtime-agnostic: it gets the `payseal` module and the vector files' JSON
// from its harness (node --test, workerd, Deno, Bun), which read them from
// tests/vectors/ at test time. It drives the public JS API only, the way a
// user would. A case passes when every field of its `expected` equals the
// field produced here; an op, scheme or input field this runner does not
// use is a failure, never a skip.

const NOT_INPUTS = new Set(["name", "op", "expected", "note"]);

class Case {
  constructor(raw) {
    this.raw = raw;
    this.used = new Set();
  }

  get name() {
    return typeof this.raw.name === "string" ? this.raw.name : "<unnamed>";
  }

  get op() {
    if (typeof this.raw.op !== "string") throw new Error("case has no op");
    return this.raw.op;
  }

  /** An input field (marked as used); absent is null. */
  get(field) {
    this.used.add(field);
    return Object.hasOwn(this.raw, field) ? this.raw[field] : null;
  }

  has(field) {
    return Object.hasOwn(this.raw, field);
  }

  str(field) {
    const v = this.get(field);
    if (typeof v !== "string") throw new Error(`field ${JSON.stringify(field)} is not a string`);
    return v;
  }

  optStr(field) {
    const v = this.get(field);
    if (v === null || typeof v === "string") return v;
    throw new Error(`field ${JSON.stringify(field)} is not a string or null`);
  }

  int(field) {
    const v = this.get(field);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`field ${JSON.stringify(field)} is not an unsigned integer`);
    return v;
  }

  /** A list of strings, or one string under the singular name. */
  strings(plural, singular) {
    if (this.has(plural)) {
      const list = this.get(plural);
      if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) {
        throw new Error(`${JSON.stringify(plural)} is not a list of strings`);
      }
      return list;
    }
    if (this.has(singular)) return [this.str(singular)];
    throw new Error(`case has neither ${JSON.stringify(plural)} nor ${JSON.stringify(singular)}`);
  }

  /** Input fields no handler read. */
  unused() {
    return Object.keys(this.raw).filter((k) => !NOT_INPUTS.has(k) && !this.used.has(k));
  }
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** Runs `produce`; a PaysealError becomes `{ ok: false, error: code }`, anything else fails the case. */
function outcome(payseal, produce) {
  try {
    return produce();
  } catch (e) {
    if (e instanceof payseal.PaysealError) return { ok: false, error: e.code };
    throw e;
  }
}

function body(c) {
  return c.optStr("body") ?? "";
}

function clock(c) {
  return { now: c.int("now"), tolerance: c.int("tolerance") };
}

function headerObject(value, what = "headers") {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${what} is not an object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new Error(`header ${JSON.stringify(k)} is not a string`);
  }
  return value;
}

const handlers = {
  "dvpay/sign": (p, c) => {
    const signer = new p.DvpaySigner({ apiKey: "", secret: c.str("secret") });
    return outcome(p, () => ({ ok: true, signature: signer.signature(body(c), { timestamp: c.int("timestamp") }) }));
  },
  "dvpay/verify": (p, c) => {
    const secrets = c.strings("secrets", "secret");
    const headers = { "X-Timestamp": c.str("timestamp"), "X-Signature": c.str("signature") };
    const [b, at] = [body(c), clock(c)];
    return outcome(p, () => {
      const verifier = new p.DvpayVerifier({ secrets });
      return { ok: true, secret_index: verifier.verify(b, headers, at).secretIndex };
    });
  },
  "stripe/sign": (p, c) => {
    const signer = new p.WebhookSigner({ scheme: "stripe", secret: c.str("secret") });
    return outcome(p, () => ({ ok: true, header: signer.sign(body(c), { timestamp: c.int("timestamp") })["stripe-signature"] }));
  },
  "stripe/verify": (p, c) => {
    // Built inside outcome(): an unusable secret is refused when the holder is built.
    const secrets = c.strings("secrets", "secret");
    const headers = { "Stripe-Signature": c.str("header") };
    const [b, at] = [body(c), clock(c)];
    return outcome(p, () => {
      const wh = new p.Webhooks({ scheme: "stripe", secrets });
      return { ok: true, secret_index: wh.verify(b, headers, at).secretIndex };
    });
  },
  "standard_webhooks/sign": (p, c) => {
    const signer = new p.WebhookSigner({ scheme: "standard_webhooks", secret: c.str("secret") });
    return outcome(p, () => {
      const headers = signer.sign(body(c), { timestamp: c.int("timestamp"), id: c.str("id") });
      return { ok: true, signature: headers["webhook-signature"] };
    });
  },
  "standard_webhooks/verify": (p, c) => {
    const secrets = c.strings("secrets", "secret");
    const headers = headerObject(c.get("headers"));
    const [b, at] = [body(c), clock(c)];
    return outcome(p, () => {
      const wh = new p.Webhooks({ scheme: "standard_webhooks", secrets });
      return { ok: true, secret_index: wh.verify(b, headers, at).secretIndex };
    });
  },
  "cybersource/sign": (p, c) => {
    const signer = new p.CybersourceSigner({ keyId: c.str("keyId"), secret: c.str("secret") });
    const request = {
      host: c.str("host"),
      method: c.str("method"),
      target: c.str("target"),
      date: c.str("date"),
      merchantId: c.str("merchantId"),
      body: c.optStr("body"),
    };
    return outcome(p, () => {
      const signed = signer.sign(request);
      return { ok: true, signature: signed.signature, digest: signed.digest };
    });
  },
  "cybersource/verify": (p, c) => {
    const keyId = c.str("keyId");
    const verifier = new p.CybersourceVerifier({ keys: c.strings("secrets", "secret").map((secret) => ({ keyId, secret })) });
    const headers = {
      host: c.str("host"),
      date: c.str("date"),
      "v-c-merchant-id": c.str("merchantId"),
      signature: c.str("signature"),
    };
    const digest = c.optStr("digest");
    if (digest !== null) headers.digest = digest;
    const request = { method: c.str("method"), target: c.str("target"), headers, body: body(c) };
    return outcome(p, () => ({ ok: true, secret_index: verifier.verify(request, clock(c)).secretIndex }));
  },
  "rfc9421/sign": (p, c) => {
    if (typeof p.HttpMessageSigner !== "function") throw new Error("payseal has no HttpMessageSigner (rfc9421)");
    const params = c.get("params");
    if (!Array.isArray(params) || !params.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string")) {
      throw new Error("params is not a list of [name, value] pairs");
    }
    const components = c.strings("components", "component");
    const signer = new p.HttpMessageSigner({ secret: c.str("secret") });
    const request = {
      method: c.str("method"),
      url: c.str("url"),
      headers: headerObject(c.get("headers")),
      body: body(c),
      label: c.str("label"),
      components,
      params,
    };
    return outcome(p, () => {
      const signed = signer.sign(request);
      return { ok: true, "signature-input": signed["signature-input"], signature: signed.signature };
    });
  },
  "rfc9421/verify": (p, c) => {
    if (typeof p.HttpMessageVerifier !== "function") throw new Error("payseal has no HttpMessageVerifier (rfc9421)");
    const keys = c.get("keys");
    if (keys === null || typeof keys !== "object" || !Object.values(keys).every((s) => typeof s === "string")) {
      throw new Error("keys is not an object of keyid → secret");
    }
    const verifier = new p.HttpMessageVerifier({ keys });
    const request = { method: c.str("method"), url: c.str("url"), headers: headerObject(c.get("headers")), body: body(c) };
    const required = c.strings("required", "require");
    return outcome(p, () => {
      const v = verifier.verify(request, { required, ...clock(c) });
      return { ok: true, label: v.label, key_id: v.keyId };
    });
  },
  "redirect/open": (p, c) => {
    const profile = c.str("profile");
    const kdf = c.str("kdf");
    const environment = c.str("environment");
    const clientSecret = c.str("secret");
    const token = c.str("token");
    const now = c.int("now");
    return outcome(p, () => {
      const opener = new p.RedirectOpener({ environment, clientSecret, kdf, profile });
      return { ok: true, data: opener.open(token, { now }) };
    });
  },
  "keys/check": (p, c, file) => {
    const checker = new p.KeyChecker({ policy: file.policy ?? undefined, records: file.records });
    const request = c.get("request");
    if (request === null || typeof request !== "object") throw new Error("request is not an object");
    const known = new Set(["api_key", "method", "path", "client_ip", "webcode", "now"]);
    const extra = Object.keys(request).find((k) => !known.has(k));
    if (extra !== undefined) throw new Error(`runner does not understand request field ${JSON.stringify(extra)}`);
    const now = request.now;
    try {
      const allowed = checker.check(
        { apiKey: request.api_key, method: request.method, path: request.path, clientIp: request.client_ip, webcode: request.webcode },
        { now },
      );
      return { ok: true, key_id: allowed.keyId };
    } catch (e) {
      if (!(e instanceof p.PaysealError)) throw e;
      return { ok: false, reason: e.code, status: e.status, code: e.responseCode, body: e.body };
    }
  },
  "idempotency/idempotency": (p, c) => {
    const NOW = 1_719_500_000;
    const STEP_FIELDS = new Set(["key", "method", "path", "body", "environment", "key_id", "expected", "finish"]);
    const steps = c.get("steps");
    if (!Array.isArray(steps) || steps.length === 0) throw new Error("steps is not a non-empty list");
    const store = new Map();
    steps.forEach((step, i) => {
      const extra = Object.keys(step).find((k) => !STEP_FIELDS.has(k));
      if (extra !== undefined) throw new Error(`step ${i}: runner does not understand field ${JSON.stringify(extra)}`);
      const request = {
        key: step.key,
        method: step.method,
        path: step.path,
        body: step.body,
        environment: step.environment,
        keyId: step.key_id,
      };
      const key = p.storageKey(request);
      const decision = p.decide(store.get(key) ?? null, request, { now: NOW + i });
      let produced;
      if (decision.outcome === "execute") {
        store.set(key, decision.record);
        if (step.finish !== undefined && step.finish !== null) {
          if (!Number.isInteger(step.finish.status)) throw new Error(`step ${i}: finish has no numeric status`);
          const completion = p.finish(decision.record, { status: step.finish.status, headers: [], body: "{}" });
          if (completion.outcome === "store") store.set(key, completion.record);
          else store.delete(key);
        }
        produced = { outcome: "execute" };
      } else if (decision.outcome === "replay") {
        produced = { outcome: "replay", status: decision.response.status };
      } else {
        produced = { outcome: "conflict", status: decision.status, message: decision.message };
      }
      if (step.expected === null || typeof step.expected !== "object") throw new Error(`step ${i}: no expected`);
      for (const [field, want] of Object.entries(step.expected)) {
        if (!deepEqual(produced[field] ?? null, want)) {
          throw new Error(`step ${i}: ${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(produced[field] ?? null)}`);
        }
      }
    });
    return {};
  },
};

/** Runs one case; returns `null` when it passes, else why it failed. */
function runCase(payseal, scheme, file, raw) {
  const c = new Case(raw);
  let produced;
  try {
    const handler = handlers[`${scheme}/${c.op}`];
    if (handler === undefined) return `runner does not know op ${JSON.stringify(c.op)} of scheme ${JSON.stringify(scheme)}`;
    produced = handler(payseal, c, file);
  } catch (e) {
    return `${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  const unused = c.unused();
  if (unused.length > 0) return `runner does not understand field(s) ${JSON.stringify(unused)}`;
  if (c.op === "idempotency" && !c.has("expected")) return null;
  const expected = raw.expected;
  if (expected === null || typeof expected !== "object") return "case has no expected object";
  for (const [field, want] of Object.entries(expected)) {
    const got = Object.hasOwn(produced, field) && produced[field] !== undefined ? produced[field] : null;
    if (!deepEqual(got, want)) return `${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
  }
  return null;
}

/**
 * Every case of every file, as `{ id, run }` where `run()` returns `null` on
 * a pass or the reason of a failure. A file that is unreadable or has no
 * cases is one failing entry.
 *
 * @param payseal the imported package
 * @param files `[{ name, text }]`, the vector files' contents
 */
export function vectorCases(payseal, files) {
  const out = [];
  if (files.length === 0) out.push({ id: "tests/vectors", run: () => "no vector files" });
  for (const { name, text } of files) {
    let file;
    try {
      file = JSON.parse(text);
    } catch (e) {
      out.push({ id: name, run: () => `unreadable: ${e.message}` });
      continue;
    }
    const scheme = typeof file.scheme === "string" ? file.scheme : "";
    const cases = Array.isArray(file.cases) ? file.cases : [];
    if (cases.length === 0) out.push({ id: name, run: () => "no cases" });
    for (const raw of cases) {
      const caseName = raw !== null && typeof raw === "object" && typeof raw.name === "string" ? raw.name : "<unnamed>";
      out.push({ id: `${name} / ${caseName}`, run: () => runCase(payseal, scheme, file, raw) });
    }
  }
  return out;
}

/** Runs every case; returns `{ passed, failed, failures: [{ id, why }] }`. */
export function runVectors(payseal, files) {
  let passed = 0;
  const failures = [];
  for (const { id, run } of vectorCases(payseal, files)) {
    const why = run();
    if (why === null) passed += 1;
    else failures.push({ id, why });
  }
  return { passed, failed: failures.length, failures };
}
