// The webhook behaviour of the npm package, runtime-agnostic: each harness
// (node --test, workerd, Deno, Bun, the Vercel edge runtime) hands over the
// installed `payseal` module and the fixtures made by webhook-fixtures.js
// with the real `svix` and `stripe` packages. Covers: Svix-branded headers,
// non-canonical base64 secrets, secrets checked when a holder is built, the
// helpful TypeErrors, the parsed event, the stripe- and svix-shaped helpers
// (stripe-node's and standard-webhooks' own webhook test cases, translated),
// and the `seen` replay hook. A case answers null when it passes, else why.

const SW_SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_PAYLOAD = '{"test": 2432232314}';
const STRIPE_SECRET = "whsec_test_secret";
const STRIPE_PAYLOAD = JSON.stringify({ id: "evt_test_webhook", object: "event" }, null, 2);
const CANARY = "CanaryWhk9Qz";

const encoder = new TextEncoder();

function fail(message) {
  throw new Error(message);
}

function equal(got, want, what) {
  if (got !== want) fail(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/** The error `run` throws (it must throw one). */
function thrown(run, what) {
  try {
    run();
  } catch (e) {
    return e;
  }
  return fail(`${what}: did not throw`);
}

async function rejected(run, what) {
  try {
    await run();
  } catch (e) {
    return e;
  }
  return fail(`${what}: did not reject`);
}

function expectCode(p, error, code, what) {
  if (!(error instanceof p.PaysealError)) fail(`${what}: expected a PaysealError, got ${error && error.stack ? error.stack : error}`);
  equal(error.code, code, `${what}: code`);
  return error;
}

function expectTypeError(error, needles, what) {
  if (!(error instanceof TypeError)) fail(`${what}: expected a TypeError, got ${error && error.stack ? error.stack : error}`);
  for (const needle of needles) {
    if (!error.message.includes(needle)) fail(`${what}: message ${JSON.stringify(error.message)} does not name ${JSON.stringify(needle)}`);
  }
  return error;
}

function noSecret(error, secrets, what) {
  const surfaces = [String(error.message), String(error.stack), JSON.stringify(error)];
  for (const secret of secrets) {
    for (const s of surfaces) if (s.includes(secret)) fail(`${what}: an error shows the secret`);
  }
}

function base64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** A Standard Webhooks signature made with WebCrypto (the test's own reference). */
async function swSign(secret, id, timestamp, payload) {
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${payload}`));
  return `v1,${base64(new Uint8Array(mac))}`;
}

/** standard-webhooks' TestPayload: headers for SW_PAYLOAD signed at `timestampMs`. */
async function swTestPayload(timestampMs = Date.now()) {
  const timestamp = Math.floor(timestampMs / 1000);
  const signature = await swSign(SW_SECRET, SW_ID, timestamp, SW_PAYLOAD);
  return {
    payload: SW_PAYLOAD,
    header: { "webhook-id": SW_ID, "webhook-signature": signature, "webhook-timestamp": String(timestamp) },
  };
}

function svixHeaders(m) {
  return { "svix-id": m.id, "svix-timestamp": String(m.timestamp), "svix-signature": m.signature };
}

function parsedOrUndefined(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * @param {object} p the installed `payseal` module
 * @param {{ now: number, svix: object[], stripe: object[] }} fixtures from webhook-fixtures.js
 */
export function webhookCases(p, fixtures) {
  const cases = [];
  const add = (id, run) => cases.push({ id: `webhooks/${id}`, run });
  if (fixtures === null || typeof fixtures !== "object" || !Array.isArray(fixtures.svix) || fixtures.svix.length === 0) {
    add("fixtures", () => "no svix fixtures were handed over");
    return cases;
  }
  const at = { now: fixtures.now };

  // ---------------------------------------------------- Svix-branded headers
  for (const m of fixtures.svix) {
    add(`svix-branded headers from the svix package verify (${m.id})`, () => {
      const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret });
      const got = wh.verify(m.payload, svixHeaders(m), at);
      equal(got.secretIndex, 0, "secretIndex");
      equal(got.id, m.id, "id");
      equal(got.timestamp, m.timestamp, "timestamp");
      if (!deepEqual(got.event, parsedOrUndefined(m.payload))) fail(`event: got ${JSON.stringify(got.event)}`);
      // The same message as bytes, with a Headers instance where the runtime has one.
      const headers = typeof Headers === "function" ? new Headers(svixHeaders(m)) : svixHeaders(m);
      equal(wh.verify(encoder.encode(m.payload), headers, at).id, m.id, "id (bytes, Headers)");
      wh.free();
      return null;
    });
  }
  add("a secret with non-zero trailing bits verifies as svix verifies it", () => {
    const m = fixtures.svix.find((x) => x.nonCanonicalSecret);
    if (m === undefined) return "no non-canonical fixture";
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret });
    equal(wh.verify(m.payload, svixHeaders(m), at).secretIndex, 0, "secretIndex");
    return null;
  });
  add("webhook-* headers come first when both spellings are present", () => {
    const m = fixtures.svix[0];
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret });
    const good = { "webhook-id": m.id, "webhook-timestamp": String(m.timestamp), "webhook-signature": m.signature };
    const garbage = { "svix-id": "msg_other", "svix-timestamp": "1", "svix-signature": "v1,AAAA" };
    equal(wh.verify(m.payload, { ...garbage, ...good }, at).id, m.id, "webhook-* first");
    const wrongId = { ...svixHeaders(m), "webhook-id": "msg_other" };
    expectCode(p, thrown(() => wh.verify(m.payload, wrongId, at), "webhook-id over svix-id"), "bad_signature", "webhook-id over svix-id");
    return null;
  });
  add("the svix-shaped Webhook reads svix-* headers and returns the parsed payload", () => {
    const m = fixtures.svix.find((x) => parsedOrUndefined(x.payload) !== undefined);
    const wh = new p.Webhook(m.secret);
    if (!deepEqual(wh.verify(m.payload, svixHeaders(m), at), JSON.parse(m.payload))) fail("payload differs");
    equal(wh.sign(m.id, new Date(m.timestamp * 1000), m.payload), m.signature, "sign equals svix's");
    wh.free();
    return null;
  });

  // -------------------------------------------- secrets checked when built
  add("an unusable secret is refused by the constructor, by position, without its value", () => {
    const bad = `not base64!! ${CANARY}`;
    const good = "whsec_" + SW_SECRET;
    const e1 = expectCode(p, thrown(() => new p.Webhooks({ scheme: "standard_webhooks", secrets: [good, bad] }), "sw"), "invalid_secret", "sw");
    if (!e1.message.includes("secrets[1]")) fail(`message ${JSON.stringify(e1.message)} does not name secrets[1]`);
    noSecret(e1, [bad, CANARY], "sw");
    const e2 = expectCode(p, thrown(() => new p.Webhooks({ scheme: "stripe", secrets: [`whsec_${CANARY} `] }), "stripe"), "invalid_secret", "stripe");
    if (!e2.message.includes("secrets[0]")) fail(`message ${JSON.stringify(e2.message)} does not name secrets[0]`);
    noSecret(e2, [CANARY], "stripe");
    expectCode(p, thrown(() => new p.WebhookSigner({ scheme: "standard_webhooks", secret: bad }), "signer"), "invalid_secret", "signer");
    expectCode(p, thrown(() => new p.DvpayVerifier({ secrets: [` ${CANARY}`] }), "dvpay"), "invalid_secret", "dvpay");
    expectCode(p, thrown(() => new p.Webhook(bad), "Webhook"), "invalid_secret", "Webhook");
    return null;
  });

  // ----------------------------------------------------- helpful mistakes
  add("a parsed body is a TypeError naming the raw-body snippets", () => {
    const m = fixtures.svix[0];
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret });
    const needles = ["raw body", "express.raw({type: 'application/json'})", "await c.req.text()", "arrayBuffer()", "await req.text()"];
    expectTypeError(thrown(() => wh.verify(JSON.parse(fixtures.svix[0].payload), svixHeaders(m), at), "object"), needles, "object");
    expectTypeError(thrown(() => wh.verify(String({}), svixHeaders(m), at), "[object Object]"), needles, "[object Object]");
    expectTypeError(thrown(() => wh.verify(undefined, svixHeaders(m), at), "undefined"), needles, "undefined");
    expectTypeError(thrown(() => p.constructEvent({ id: "evt" }, "t=1,v1=00", STRIPE_SECRET), "constructEvent"), needles, "constructEvent");
    return null;
  });
  add("header values given as Uint8Array (Buffer) are read as text", () => {
    const m = fixtures.svix[0];
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret });
    const headers = Object.fromEntries(Object.entries(svixHeaders(m)).map(([k, v]) => [k, encoder.encode(v)]));
    equal(wh.verify(m.payload, headers, at).id, m.id, "id");
    return null;
  });
  add("now in milliseconds is a TypeError naming the unit", () => {
    const m = fixtures.svix[0];
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret });
    expectTypeError(thrown(() => wh.verify(m.payload, svixHeaders(m), { now: Date.now() }), "now"), ["milliseconds", "unix seconds"], "now");
    const dvpay = new p.DvpayVerifier({ secret: "dvp_secret" });
    const signed = new p.DvpaySigner({ apiKey: "ak", secret: "dvp_secret" }).sign("{}");
    expectTypeError(thrown(() => dvpay.verify("{}", signed, { now: Date.now() }), "dvpay now"), ["milliseconds"], "dvpay now");
    const stripeHeader = p.generateTestHeaderString({ payload: STRIPE_PAYLOAD, secret: STRIPE_SECRET });
    expectTypeError(thrown(() => p.constructEvent(STRIPE_PAYLOAD, stripeHeader, STRIPE_SECRET, { now: Date.now() }), "stripe now"), ["milliseconds"], "stripe now");
    const signer = new p.WebhookSigner({ scheme: "stripe", secret: STRIPE_SECRET });
    expectTypeError(thrown(() => signer.sign("{}", { timestamp: Date.now() }), "timestamp"), ["milliseconds"], "timestamp");
    return null;
  });

  // ----------------------------------------------------------- the event
  add("the event is parsed lazily, once, and undefined for a body that is not JSON", () => {
    const json = fixtures.svix.find((x) => parsedOrUndefined(x.payload) !== undefined);
    const text = fixtures.svix.find((x) => parsedOrUndefined(x.payload) === undefined);
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: json.secret });
    const got = wh.verify(json.payload, svixHeaders(json), at);
    if (Object.getOwnPropertyDescriptor(got, "event") !== undefined) fail("event is an own data property (parsed eagerly)");
    const first = got.event;
    if (first !== got.event) fail("event is parsed again on every read");
    if (!deepEqual(first, JSON.parse(json.payload))) fail("event differs from the payload");
    const other = new p.Webhooks({ scheme: "standard_webhooks", secret: text.secret });
    equal(other.verify(text.payload, svixHeaders(text), at).event, undefined, "event of a non-JSON body");
    const stripeMsg = fixtures.stripe[0];
    const sw = new p.Webhooks({ scheme: "stripe", secret: stripeMsg.secret });
    const v = sw.verify(stripeMsg.payload, { "stripe-signature": stripeMsg.header }, at);
    equal(v.id, null, "stripe id");
    equal(v.timestamp, stripeMsg.timestamp, "stripe timestamp");
    equal(v.event.id, "evt_test_webhook", "stripe event id");
    return null;
  });

  // -------------------------------- stripe-node's webhook tests, translated
  const header = (payload = STRIPE_PAYLOAD, timestamp) => p.generateTestHeaderString({ payload, secret: STRIPE_SECRET, timestamp });
  add("stripe: the header made by the stripe package verifies with constructEvent", () => {
    const m = fixtures.stripe[0];
    equal(p.constructEvent(m.payload, m.header, m.secret, at).id, "evt_test_webhook", "event id");
    return null;
  });
  add("stripe: generateTestHeaderString throws without options, has t and v1", () => {
    thrown(() => p.generateTestHeaderString(), "no options");
    equal(header().split(",").length, 2, "items");
    return null;
  });
  add("stripe: constructEvent returns the event (string, Uint8Array payload and header)", () => {
    const h = header();
    equal(p.constructEvent(STRIPE_PAYLOAD, h, STRIPE_SECRET).id, "evt_test_webhook", "string");
    equal(p.constructEvent(encoder.encode(STRIPE_PAYLOAD), encoder.encode(h), STRIPE_SECRET).id, "evt_test_webhook", "bytes");
    return null;
  });
  add("stripe: a verified payload that is not JSON is a SyntaxError", () => {
    const bad = "} I am not valid JSON; 123][";
    const e = thrown(() => p.constructEvent(bad, header(bad), STRIPE_SECRET), "json");
    if (!(e instanceof SyntaxError)) fail(`expected a SyntaxError, got ${e}`);
    return null;
  });
  add("stripe: a header that is not a signature header is refused", () => {
    expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, "bad_header", STRIPE_SECRET), "bad_header"), "malformed_header", "bad_header");
    expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, "I'm not even a real signature header", STRIPE_SECRET), "text"), "malformed_header", "text");
    return null;
  });
  add("stripe: no payload (null, undefined, empty) is a TypeError", () => {
    for (const payload of [null, undefined, ""]) {
      expectTypeError(thrown(() => p.constructEvent(payload, "bad_header", STRIPE_SECRET), String(payload)), ["No webhook payload was provided"], String(payload));
    }
    return null;
  });
  add("stripe: a signature header given as an array is a TypeError", () => {
    expectTypeError(thrown(() => p.constructEvent(STRIPE_PAYLOAD, [header()], STRIPE_SECRET), "array"), ["array"], "array");
    return null;
  });
  add("stripe: a null or empty header is missing_signature", () => {
    for (const h of [null, undefined, ""]) {
      expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, h, STRIPE_SECRET), String(h)), "missing_signature", String(h));
    }
    return null;
  });
  add("stripe: no signature of scheme v1 is bad_signature", () => {
    const v0 = header().replace("v1=", "v0=");
    expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, v0, STRIPE_SECRET), "v0"), "bad_signature", "v0");
    return null;
  });
  add("stripe: no valid signature for the payload is bad_signature", () => {
    const t = nowSeconds();
    expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, `t=${t},v1=bad_signature`, STRIPE_SECRET), "bad"), "bad_signature", "bad");
    return null;
  });
  add("stripe: a timestamp outside the tolerance of the given time or of now is stale", () => {
    const receivedAt = 20_000;
    const h = header(STRIPE_PAYLOAD, receivedAt - 15);
    expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, h, STRIPE_SECRET, { tolerance: 10, now: receivedAt }), "given"), "stale_timestamp", "given");
    const old = header(STRIPE_PAYLOAD, Date.now() / 1000 - 15);
    expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, old, STRIPE_SECRET, 10), "now"), "stale_timestamp", "now");
    return null;
  });
  add("stripe: a valid signature within the tolerance of now or of the given time verifies", () => {
    equal(p.constructEvent(STRIPE_PAYLOAD, header(STRIPE_PAYLOAD, Date.now() / 1000), STRIPE_SECRET, 10).id, "evt_test_webhook", "now");
    const receivedAt = 20_000;
    const h = header(STRIPE_PAYLOAD, receivedAt - 9);
    equal(p.constructEvent(STRIPE_PAYLOAD, h, STRIPE_SECRET, { tolerance: 10, now: receivedAt }).id, "evt_test_webhook", "given");
    return null;
  });
  add("stripe: one valid signature among others verifies", () => {
    equal(p.constructEvent(STRIPE_PAYLOAD, header() + ",v1=potato", STRIPE_SECRET, 10).id, "evt_test_webhook", "id");
    return null;
  });
  add("stripe: a payload of an unknown type is a TypeError", () => {
    expectTypeError(thrown(() => p.constructEvent({}, header(), STRIPE_SECRET), "{}"), ["raw body"], "{}");
    expectTypeError(thrown(() => p.constructEvent(new Date(), header(), STRIPE_SECRET), "Date"), ["raw body"], "Date");
    return null;
  });
  add("stripe: a signing secret with whitespace is invalid_secret", () => {
    expectCode(p, thrown(() => p.constructEvent(STRIPE_PAYLOAD, header(), STRIPE_SECRET + " "), "ws"), "invalid_secret", "ws");
    return null;
  });

  // ---------------------------- standard-webhooks' own tests, translated
  const sw = () => new p.Webhook(SW_SECRET);
  add("standard-webhooks: an empty, undefined or null key throws", () => {
    for (const key of ["", undefined, null]) if (!(thrown(() => new p.Webhook(key), String(key)) instanceof Error)) fail("not an Error");
    return null;
  });
  for (const header of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    add(`standard-webhooks: a missing ${header} throws WebhookVerificationError`, async () => {
      const t = await swTestPayload();
      delete t.header[header];
      const e = thrown(() => sw().verify(t.payload, t.header), header);
      if (!(e instanceof p.WebhookVerificationError)) fail(`not a WebhookVerificationError: ${e}`);
      equal(e.code, "missing_signature", "code");
      return null;
    });
  }
  add("standard-webhooks: an invalid timestamp throws", async () => {
    const t = await swTestPayload();
    t.header["webhook-timestamp"] = "hello";
    expectCode(p, thrown(() => sw().verify(t.payload, t.header), "hello"), "malformed_header", "hello");
    return null;
  });
  add("standard-webhooks: an invalid or partial signature throws", async () => {
    const t = await swTestPayload();
    t.header["webhook-signature"] = "v1,dawfeoifkpqwoekfpqoekf";
    expectCode(p, thrown(() => sw().verify(t.payload, t.header), "invalid"), "bad_signature", "invalid");
    const u = await swTestPayload();
    u.header["webhook-signature"] = u.header["webhook-signature"].slice(0, 8);
    expectCode(p, thrown(() => sw().verify(u.payload, u.header), "partial"), "bad_signature", "partial");
    u.header["webhook-signature"] = "v1,";
    expectCode(p, thrown(() => sw().verify(u.payload, u.header), "empty"), "bad_signature", "empty");
    return null;
  });
  add("standard-webhooks: a valid signature verifies and returns the JSON", async () => {
    const t = await swTestPayload();
    if (!deepEqual(sw().verify(t.payload, t.header), JSON.parse(SW_PAYLOAD))) fail("payload differs");
    return null;
  });
  add("standard-webhooks: an old or a future timestamp fails", async () => {
    const tolerance = 5 * 60 * 1000;
    const old = await swTestPayload(Date.now() - tolerance - 1000);
    expectCode(p, thrown(() => sw().verify(old.payload, old.header), "old"), "stale_timestamp", "old");
    const future = await swTestPayload(Date.now() + tolerance + 1000);
    expectCode(p, thrown(() => sw().verify(future.payload, future.header), "future"), "stale_timestamp", "future");
    return null;
  });
  add("standard-webhooks: a multi-signature header with one valid entry verifies", async () => {
    const t = await swTestPayload();
    const other = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    t.header["webhook-signature"] = [`v1,${other}`, `v2,${other}`, t.header["webhook-signature"], `v1,${other}`].join(" ");
    sw().verify(t.payload, t.header);
    return null;
  });
  add("standard-webhooks: verification works with and without the whsec_ prefix", async () => {
    const t = await swTestPayload();
    new p.Webhook(SW_SECRET).verify(t.payload, t.header);
    new p.Webhook(`whsec_${SW_SECRET}`).verify(t.payload, t.header);
    return null;
  });
  add("standard-webhooks: sign gives the library's known signature", () => {
    const wh = new p.Webhook(`whsec_${SW_SECRET}`);
    equal(wh.sign(SW_ID, new Date(1614265330 * 1000), SW_PAYLOAD), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "signature");
    return null;
  });

  // ------------------------------------------------------ the seen hook
  add("seen: a replayed Standard Webhooks delivery is replayed_signature (401), another id passes", () => {
    const [a, b] = fixtures.svix.filter((m) => m.secret === fixtures.svix[0].secret);
    const seen = p.memorySeen();
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: a.secret, seen });
    wh.verify(a.payload, svixHeaders(a), at);
    const e = expectCode(p, thrown(() => wh.verify(a.payload, svixHeaders(a), at), "replay"), "replayed_signature", "replay");
    equal(e.status, 401, "status");
    wh.verify(b.payload, svixHeaders(b), at);
    equal(seen.size, 2, "ids held");
    // The same id through the unbranded names is the same delivery.
    const unbranded = { "webhook-id": a.id, "webhook-timestamp": String(a.timestamp), "webhook-signature": a.signature };
    expectCode(p, thrown(() => wh.verify(a.payload, unbranded, at), "unbranded"), "replayed_signature", "unbranded");
    return null;
  });
  add("seen: the hook gets the id and the end of the tolerance window, only after the signature verified", () => {
    const m = fixtures.svix[0];
    const calls = [];
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret, seen: (...args) => (calls.push(args), false) });
    expectCode(p, thrown(() => wh.verify(m.payload + " ", svixHeaders(m), at), "tampered"), "bad_signature", "tampered");
    equal(calls.length, 0, "calls after a bad signature");
    wh.verify(m.payload, svixHeaders(m), { ...at, tolerance: 60 });
    if (!deepEqual(calls, [[m.id, m.timestamp + 61, fixtures.now]])) fail(`calls: ${JSON.stringify(calls)}`);
    return null;
  });
  add("seen: a Stripe replay is caught whatever other entries the header gains", () => {
    const m = fixtures.stripe[0];
    const wh = new p.Webhooks({ scheme: "stripe", secret: m.secret, seen: p.memorySeen() });
    wh.verify(m.payload, { "stripe-signature": m.header }, at);
    const padded = `${m.header},v1=${"0".repeat(64)},v0=abc`;
    expectCode(p, thrown(() => wh.verify(m.payload, { "stripe-signature": padded }, at), "padded"), "replayed_signature", "padded");
    const shared = p.memorySeen();
    equal(p.constructEvent(m.payload, m.header, m.secret, { ...at, seen: shared }).id, "evt_test_webhook", "constructEvent first");
    expectCode(p, thrown(() => p.constructEvent(m.payload, m.header, m.secret, { ...at, seen: shared }), "constructEvent"), "replayed_signature", "constructEvent");
    return null;
  });
  add("seen: memorySeen forgets expired ids and holds at most maxEntries", () => {
    let t = 1000;
    const seen = p.memorySeen({ maxEntries: 2, now: () => t });
    equal(seen("a", 1010), false, "a first");
    equal(seen("a", 1010), true, "a again");
    t = 1010;
    equal(seen("a", 1020), false, "a after it expired");
    equal(seen("b", 1030), false, "b");
    equal(seen("c", 1030), false, "c (full: the oldest, a, goes)");
    equal(seen.size, 2, "size");
    equal(seen("b", 1030), true, "b still held");
    equal(seen("a", 1030), false, "a was dropped");
    t = 1031;
    equal(seen("d", 1040), false, "d (full: expired ones swept first)");
    equal(seen.size, 1, "after the sweep");
    seen.delete("d");
    equal(seen("d", 1040), false, "d after delete");
    equal(seen("d", 1040, 1035), true, "the verification's clock decides when given");
    equal(seen("d", 1040, 1040), false, "expired on the verification's clock");
    thrown(() => p.memorySeen({ maxEntries: 0 }), "maxEntries 0");
    return null;
  });
  add("seen: an asynchronous store works through verifyAsync, and verify refuses it", async () => {
    const m = fixtures.svix[0];
    const store = new Set();
    const seen = async (id) => (store.has(id) ? true : (store.add(id), false));
    const wh = new p.Webhooks({ scheme: "standard_webhooks", secret: m.secret, seen });
    equal((await wh.verifyAsync(m.payload, svixHeaders(m), at)).id, m.id, "first");
    expectCode(p, await rejected(() => wh.verifyAsync(m.payload, svixHeaders(m), at), "replay"), "replayed_signature", "replay");
    expectTypeError(thrown(() => wh.verify(m.payload, svixHeaders(m), at), "sync"), ["verifyAsync"], "sync");
    return null;
  });
  add("seen: the svix-shaped Webhook takes the hook too", () => {
    const m = fixtures.svix[0];
    const wh = new p.Webhook(m.secret, { seen: p.memorySeen() });
    wh.verify(m.payload, svixHeaders(m), at);
    expectCode(p, thrown(() => wh.verify(m.payload, svixHeaders(m), at), "replay"), "replayed_signature", "replay");
    return null;
  });
  return cases;
}

/** Runs every case; `{ passed, failed, failures: [{ id, why }] }`. */
export async function runWebhookCases(p, fixtures) {
  let passed = 0;
  const failures = [];
  for (const { id, run } of webhookCases(p, fixtures)) {
    let why;
    try {
      why = await run();
    } catch (e) {
      why = e && e.stack ? e.stack : String(e);
    }
    if (why === null) passed += 1;
    else failures.push({ id, why });
  }
  return { passed, failed: failures.length, failures };
}
