// Behaviour of SecretRenewer and requestSecretRenewal, runtime-agnostic: the
// harness of each runtime (node --test, workerd, Deno, Bun) hands over the
// installed `payseal` module and, where the runtime has one, `inspect`
// (workerd has no util.inspect: there every other surface is checked). The
// clock is injected and `fetch` is a fake that answers like the provider, so
// nothing here waits on the clock or the network.

const CANARY = "CanaryRnw7Kp2";
const PASSWORD = `pw-${CANARY}-password`;
const ACCOUNT = "ACC_PROD_001";
const T0 = 1_719_500_000;
const BASE = "https://api.provider.example/v2";

/** The n-th secret the fake provider hands out. */
const secret = (n) => `sk_live_${CANARY}${String(n).padStart(20, "0")}`;
const NEEDLES = [CANARY, PASSWORD, encodeURIComponent(PASSWORD), secret(1)];

function fail(message) {
  throw new Error(message);
}

function equal(got, want, what) {
  if (got !== want) fail(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

/** Resolves when every queued microtask (and the ones they queue) has run. */
function settle() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Waits for every promise (none is left unhandled) and answers their values, or throws the first rejection. */
async function all(promises) {
  const settled = await Promise.allSettled(promises);
  const rejected = settled.find((r) => r.status === "rejected");
  if (rejected !== undefined) throw rejected.reason;
  return settled.map((r) => r.value);
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((ok, no) => {
    resolve = ok;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** A settable clock, unix seconds. */
function clock(start = T0) {
  let t = start;
  const now = () => t;
  now.set = (value) => (t = value);
  return now;
}

function answer(n, expiresIn = 3_600) {
  return { operation_account_code: ACCOUNT, secret: secret(n), expires_in: expiresIn };
}

/** A `renew` counting its calls; each call takes the next scripted outcome. */
function scripted(outcomes) {
  const renew = async () => {
    const outcome = outcomes[renew.calls] ?? fail(`renew called ${renew.calls + 1} times`);
    renew.calls += 1;
    return typeof outcome === "function" ? outcome() : outcome;
  };
  renew.calls = 0;
  return renew;
}

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  return fail("expected a rejection");
}

function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  return fail("expected a throw");
}

/** Every textual surface of a value: no needle may show in any. */
function assertClean(what, value, inspect) {
  const surfaces = [];
  const push = (label, f) => {
    try {
      surfaces.push([label, String(f())]);
    } catch (e) {
      surfaces.push([`${label} threw`, String(e)]);
    }
  };
  if (inspect !== undefined) push("inspect", () => inspect(value, { showHidden: true, depth: 8, getters: true }));
  push("JSON.stringify", () => JSON.stringify(value));
  push("String", () => String(value));
  if (value instanceof Error) {
    push("message", () => value.message);
    push("stack", () => value.stack);
    if (value.cause !== undefined) push("cause", () => String(value.cause));
  }
  for (let o = value; o !== null && o !== undefined && o !== Object.prototype && o !== Error.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) {
      if (key === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d && "value" in d && typeof d.value !== "function") push(`property ${String(key)}`, () => JSON.stringify(d.value) ?? String(d.value));
    }
  }
  for (const [label, text] of surfaces) {
    for (const needle of NEEDLES) {
      if (text.includes(needle)) fail(`${what}: ${label} shows a secret or the password (${needle.slice(0, 6)}…)`);
    }
  }
}

/** A fake `fetch` answering like the provider; it records each request. */
function fakeProvider(respond) {
  const fetch = async (url, init) => {
    fetch.requests.push({ url, init });
    return respond(fetch.requests.length);
  };
  fetch.requests = [];
  return fetch;
}

function json(status, value, headers = {}) {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } });
}

function refusal(status, code) {
  return json(status, { status: "FAILED", code, message: "refused" });
}

function renewRequest(p, fetch, extra = {}) {
  return p.requestSecretRenewal({ fetch, baseUrl: BASE, codeUrl: "RCV 01", accountCode: ACCOUNT, password: PASSWORD, now: () => T0, ...extra });
}

const cases = {
  "20 concurrent current() calls share one renewal": async (p) => {
    const gate = deferred();
    const renew = scripted([() => gate.promise]);
    const renewer = new p.SecretRenewer({ renew, now: clock() });
    const calls = Array.from({ length: 20 }, () => renewer.current());
    await settle();
    equal(renew.calls, 1, "renew calls while in flight");
    gate.resolve(answer(1));
    const got = await all(calls);
    equal(renew.calls, 1, "renew calls");
    for (const s of got) equal(s, got[0], "every caller gets the same secret");
    equal(got[0].expose(), secret(1), "the secret");
    equal(got[0].accountCode, ACCOUNT, "accountCode");
    equal(got[0].expiresIn, 3_600, "expiresIn");
    equal(renewer.expiresAt, T0 + 3_600, "expiresAt");
  },

  "the margin renews before expiry (seconds, injected clock)": async (p) => {
    const now = clock();
    const renew = scripted([answer(1), answer(2)]);
    const renewer = new p.SecretRenewer({ renew, now, marginSeconds: 300 });
    equal((await renewer.current()).expose(), secret(1), "first");
    now.set(T0 + 3_299);
    equal((await renewer.current()).expose(), secret(1), "before the margin");
    equal(renew.calls, 1, "renew calls before the margin");
    now.set(T0 + 3_300);
    equal((await renewer.current()).expose(), secret(2), "inside the margin");
    equal(renew.calls, 2, "renew calls");
    equal(renewer.expiresAt, T0 + 3_300 + 3_600, "the new lifetime counts from the request");
  },

  "the default margin is 10 % of the lifetime": async (p) => {
    const now = clock();
    const renew = scripted([answer(1, 1_000), answer(2, 1_000)]);
    const renewer = new p.SecretRenewer({ renew, now });
    await renewer.current();
    now.set(T0 + 899);
    equal((await renewer.current()).expose(), secret(1), "at 89.9 %");
    now.set(T0 + 900);
    equal((await renewer.current()).expose(), secret(2), "at 90 %");
  },

  "the minimum interval suppresses a second renewal": async (p) => {
    const now = clock();
    // A 100 s secret with a 90 s margin is due again after 10 s.
    const renew = scripted([answer(1, 100), answer(2, 100)]);
    const renewer = new p.SecretRenewer({ renew, now, marginSeconds: 90, minIntervalSeconds: 60 });
    await renewer.current();
    now.set(T0 + 10);
    equal((await renewer.current()).expose(), secret(1), "due, within the minimum interval");
    now.set(T0 + 59);
    equal((await renewer.current()).expose(), secret(1), "still within it");
    equal(renew.calls, 1, "renew calls within the interval");
    now.set(T0 + 60);
    equal((await renewer.current()).expose(), secret(2), "after it");
    equal(renew.calls, 2, "renew calls");
  },

  "onUnauthorized renews once for a burst of 401s": async (p) => {
    const now = clock();
    const gate = deferred();
    const renew = scripted([answer(1), () => gate.promise, answer(3)]);
    const renewer = new p.SecretRenewer({ renew, now, minIntervalSeconds: 60 });
    const first = await renewer.current();
    now.set(T0 + 100);
    const burst = Array.from({ length: 10 }, () => renewer.onUnauthorized(first));
    await settle();
    equal(renew.calls, 2, "renew calls during the burst");
    gate.resolve(answer(2));
    for (const s of await all(burst)) equal(s.expose(), secret(2), "the burst's secret");
    // Late 401s of requests sent with the old secret: the new one is handed back.
    now.set(T0 + 110);
    equal((await renewer.onUnauthorized(first)).expose(), secret(2), "late 401 for the old secret");
    // A 401 for the new secret within the minimum interval: no renewal.
    now.set(T0 + 130);
    const second = await renewer.onUnauthorized();
    equal(second.expose(), secret(2), "401 within the minimum interval");
    equal(renew.calls, 2, "renew calls after the burst");
    now.set(T0 + 160);
    equal((await renewer.onUnauthorized(second)).expose(), secret(3), "401 after the minimum interval");
    equal(renew.calls, 3, "renew calls");
  },

  "a failure rejects every waiter and a later call retries": async (p) => {
    const now = clock();
    const boom = new Error("provider unreachable");
    const gate = deferred();
    const renew = scripted([() => gate.promise, answer(2)]);
    const renewer = new p.SecretRenewer({ renew, now, minIntervalSeconds: 60 });
    const waiters = Array.from({ length: 5 }, () => renewer.current());
    await settle();
    gate.reject(boom);
    const errors = await all(waiters.map(rejection));
    for (const e of errors) {
      equal(e, errors[0], "every waiter gets the same error");
      if (!(e instanceof p.PaysealError)) fail("a PaysealError");
      equal(e.code, "renewal_failed", "code");
      equal(e.cause, boom, "cause");
    }
    equal(renew.calls, 1, "renew calls");
    now.set(T0 + 59);
    const held = await rejection(renewer.current());
    equal(held.code, "rate_limited", "no secret and within the minimum interval");
    equal(held.retryAfterSeconds, 1, "retryAfterSeconds");
    equal(renew.calls, 1, "renew calls within the interval");
    now.set(T0 + 60);
    equal((await renewer.current()).expose(), secret(2), "the retry");
    equal(renew.calls, 2, "renew calls");
  },

  "the previous secret stays in use until the new one arrives": async (p) => {
    const now = clock();
    const gate = deferred();
    const renew = scripted([answer(1, 1_000), () => gate.promise, answer(3, 1_000)]);
    const renewer = new p.SecretRenewer({ renew, now, minIntervalSeconds: 60 });
    const old = await renewer.current();
    now.set(T0 + 950);
    const waiting = renewer.current();
    await settle();
    gate.reject(new p.PaysealError("unexpected_status", "503", { status: 503 }));
    equal((await rejection(waiting)).code, "unexpected_status", "payseal errors pass through");
    now.set(T0 + 980);
    const still = await renewer.current();
    equal(still, old, "the previous secret, not expired, is handed out");
    equal(still.expose(), secret(1), "and still readable");
    now.set(T0 + 1_000);
    const gone = await rejection(renewer.current());
    equal(gone.code, "rate_limited", "expired and rate-limited");
    equal(gone.retryAfterSeconds, 10, "retryAfterSeconds");
    now.set(T0 + 1_010);
    equal((await renewer.current()).expose(), secret(3), "renewed");
  },

  "a 429's Retry-After holds renewals back": async (p) => {
    const now = clock();
    const fetch = fakeProvider((n) => (n === 1 ? json(429, {}, { "retry-after": "120" }) : json(200, answer(2))));
    const renewer = new p.SecretRenewer({ renew: () => renewRequest(p, fetch), now, minIntervalSeconds: 60 });
    const limited = await rejection(renewer.current());
    equal(limited.code, "rate_limited", "the 429");
    equal(limited.status, 429, "status");
    equal(limited.retryAfterSeconds, 120, "retryAfterSeconds");
    now.set(T0 + 60);
    const held = await rejection(renewer.current());
    equal(held.retryAfterSeconds, 60, "held past the minimum interval");
    equal(fetch.requests.length, 1, "requests while held");
    now.set(T0 + 120);
    equal((await renewer.current()).expose(), secret(2), "after Retry-After");
    equal(fetch.requests.length, 2, "requests");
  },

  "renew may answer a RenewedSecret or the provider's JSON, which is checked": async (p) => {
    const made = new p.RenewedSecret(answer(7));
    const renewer = new p.SecretRenewer({ renew: async () => made, now: clock() });
    equal(await renewer.current(), made, "a RenewedSecret is used as it is");
    const bad = [
      { secret: ` ${secret(1)}`, expires_in: 60 },
      { secret: secret(1), expires_in: 0 },
      { secret: secret(1), expires_in: secret(1) },
      { secret: 42, expires_in: 60 },
      "not an object",
    ];
    for (const value of bad) {
      const r = new p.SecretRenewer({ renew: async () => value, now: clock() });
      const e = await rejection(r.current());
      equal(e.code, "invalid_answer", `code for ${typeof value === "object" ? Object.keys(value) : value}`);
    }
  },

  "requestSecretRenewal posts the form and reads the answer": async (p) => {
    const fetch = fakeProvider(() => json(200, answer(1)));
    const s = await renewRequest(p, fetch, { baseUrl: `${BASE}/` });
    equal(s.expose(), secret(1), "the secret");
    equal(s.accountCode, ACCOUNT, "accountCode");
    equal(s.expiresIn, 3_600, "expiresIn");
    equal(fetch.requests.length, 1, "one request");
    const { url, init } = fetch.requests[0];
    equal(url, `${BASE}/RCV%2001/renew-secret`, "url");
    equal(init.method, "POST", "method");
    equal(init.redirect, "manual", "redirects are not followed");
    equal(init.headers["content-type"], "application/x-www-form-urlencoded", "content-type");
    const form = new URLSearchParams(init.body);
    equal(form.get("accountOperationCode"), ACCOUNT, "accountOperationCode");
    equal(form.get("password"), PASSWORD, "password");
    equal([...form.keys()].length, 2, "form fields");
  },

  "requestSecretRenewal maps each documented failure": async (p) => {
    const inTwoMinutes = new Date((T0 + 120) * 1000).toUTCString();
    const expect = [
      [refusal(401, "AUTHENTICATION_FAILED"), "authentication_failed", 401, "AUTHENTICATION_FAILED"],
      [refusal(403, "SECRET_KEY_RECEPTION_URL_NOT_ACTIVE"), "reception_url_not_active", 403, "SECRET_KEY_RECEPTION_URL_NOT_ACTIVE"],
      [refusal(400, "INVALID_SECRET_KEY_RECEPTION_URL_CODE"), "invalid_reception_url_code", 400, "INVALID_SECRET_KEY_RECEPTION_URL_CODE"],
      [new Response("", { status: 401 }), "authentication_failed", 401, "AUTHENTICATION_FAILED"],
      [json(429, {}, { "retry-after": "30" }), "rate_limited", 429, undefined, 30],
      [json(429, {}, { "retry-after": inTwoMinutes }), "rate_limited", 429, undefined, 120],
      [json(429, {}), "rate_limited", 429, undefined, undefined],
      [new Response("", { status: 403 }), "unexpected_status", 403],
      [new Response("oops", { status: 502 }), "unexpected_status", 502],
      [json(200, { ...answer(1), operation_account_code: "ACC_OTHER" }), "invalid_answer", 200],
      [json(200, { ...answer(1), expires_in: secret(1) }), "invalid_answer", 200],
      [new Response(`{"secret":"${secret(1)}"`, { status: 200 }), "invalid_answer", 200],
    ];
    for (const [response, code, status, responseCode, retryAfter] of expect) {
      const e = await rejection(renewRequest(p, fakeProvider(() => response)));
      if (!(e instanceof p.PaysealError)) fail(`${code}: a PaysealError, got ${e}`);
      equal(e.code, code, `code (${status})`);
      equal(e.status, status, `status of ${code}`);
      equal(e.responseCode, responseCode, `responseCode of ${code}`);
      equal(e.retryAfterSeconds, retryAfter, `retryAfterSeconds of ${code}`);
    }
    const cause = new TypeError("fetch failed");
    const unreachable = await rejection(renewRequest(p, async () => Promise.reject(cause)));
    equal(unreachable.code, "request_failed", "no answer");
    equal(unreachable.cause, cause, "cause");
  },

  "requestSecretRenewal refuses malformed arguments with TypeErrors": async (p) => {
    const fetch = fakeProvider(() => json(200, answer(1)));
    for (const [what, extra] of [
      ["http base URL", { baseUrl: "http://api.provider.example/v2" }],
      ["relative base URL", { baseUrl: "/v2" }],
      ["empty password", { password: "" }],
      ["password not a string", { password: 7 }],
      ["empty codeUrl", { codeUrl: "" }],
      ["empty accountCode", { accountCode: "" }],
    ]) {
      const e = await rejection(renewRequest(p, fetch, extra));
      if (!(e instanceof TypeError)) fail(`${what}: a TypeError, got ${e}`);
    }
    equal(fetch.requests.length, 0, "nothing was sent");
  },

  "no secret or password in any error, JSON, String or inspect": async (p, { inspect }) => {
    const s = await renewRequest(p, fakeProvider(() => json(200, answer(1))));
    assertClean("RenewedSecret", s, inspect);
    const renewer = new p.SecretRenewer({ renew: async () => answer(1), now: clock() });
    await renewer.current();
    assertClean("SecretRenewer", renewer, inspect);
    const failures = [
      renewRequest(p, fakeProvider(() => refusal(401, "AUTHENTICATION_FAILED"))),
      renewRequest(p, fakeProvider(() => json(429, {}, { "retry-after": "9" }))),
      renewRequest(p, fakeProvider(() => json(200, { ...answer(1), operation_account_code: "ACC_OTHER" }))),
      renewRequest(p, fakeProvider(() => json(200, { ...answer(1), expires_in: secret(1) }))),
      renewRequest(p, fakeProvider(() => new Response(`{"secret":"${secret(1)}"`, { status: 200 }))),
      renewRequest(p, fakeProvider(() => new Response(secret(1), { status: 500 }))),
      renewRequest(p, fakeProvider(() => json(200, answer(1))), { baseUrl: "http://api.provider.example" }),
      renewRequest(p, fakeProvider(() => json(200, answer(1))), { codeUrl: 5 }),
      new p.SecretRenewer({ renew: async () => ({ secret: `${secret(1)}\n`, expires_in: 60 }), now: clock() }).current(),
      new p.SecretRenewer({ renew: async () => ({ secret: secret(1), expires_in: -1 }), now: clock() }).current(),
    ];
    for (const [i, failing] of failures.entries()) assertClean(`failure ${i}`, await rejection(failing), inspect);
    s.free();
    assertClean("RenewedSecret after free", s, inspect);
    assertClean("expose after free", thrown(() => s.expose()), inspect);
  },

  "free() wipes the secrets and stops the renewer": async (p) => {
    const renewer = new p.SecretRenewer({ renew: async () => answer(1), now: clock() });
    const s = await renewer.current();
    renewer.free();
    if (!(thrown(() => s.expose()) instanceof TypeError)) fail("the current secret is wiped");
    if (!((await rejection(renewer.current())) instanceof TypeError)) fail("current() after free");
    const gate = deferred();
    const inFlight = new p.SecretRenewer({ renew: () => gate.promise, now: clock() });
    const pending = inFlight.current();
    await settle();
    inFlight.free();
    gate.resolve(answer(2));
    if (!((await rejection(pending)) instanceof TypeError)) fail("a renewal in flight at free() rejects");
  },

  "options are checked": async (p) => {
    const renew = async () => answer(1);
    for (const [what, options] of [
      ["no renew", {}],
      ["both margins", { renew, marginSeconds: 1, marginPercent: 1 }],
      ["percent over 100", { renew, marginPercent: 101 }],
      ["negative interval", { renew, minIntervalSeconds: -1 }],
      ["clock not a function", { renew, now: 5 }],
    ]) {
      if (!(thrown(() => new p.SecretRenewer(options)) instanceof TypeError)) fail(`${what}: a TypeError`);
    }
    const fractional = new p.SecretRenewer({ renew, now: () => T0 + 0.5 });
    if (!((await rejection(fractional.current())) instanceof TypeError)) fail("a fractional clock is a TypeError");
  },
};

/** Every case as `{ id, run }`; `run()` resolves to `null` on a pass, else why it failed. */
export function renewalCases(payseal, { inspect } = {}) {
  return Object.entries(cases).map(([name, body]) => ({
    id: `renewal / ${name}`,
    run: async () => {
      try {
        await body(payseal, { inspect });
        return null;
      } catch (e) {
        return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
    },
  }));
}

/** Runs every case; resolves to `{ passed, failed, failures: [{ id, why }] }`. */
export async function runRenewalCases(payseal, options) {
  let passed = 0;
  const failures = [];
  for (const { id, run } of renewalCases(payseal, options)) {
    const why = await run();
    if (why === null) passed += 1;
    else failures.push({ id, why });
  }
  return { passed, failed: failures.length, failures };
}
