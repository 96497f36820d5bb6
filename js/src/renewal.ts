/**
 * Merchant-side secret renewal (`keys.md`, "Rotation"): a provider hands out
 * secrets that expire (`expires_in`) and renews them on request, rate-limited
 * per account; after a renewal the previous secret keeps working for a grace
 * period.
 *
 * {@link SecretRenewer} decides when to renew with the core's
 * `RenewalSchedule` (through Wasm: every timing rule lives in the core) and
 * adds the one thing the core cannot do, sharing one in-flight promise between
 * concurrent callers. {@link requestSecretRenewal} performs the MyPVit-style
 * request. A renewed secret stays in Wasm memory inside a
 * {@link RenewedSecret}; `expose()` is the one explicit read.
 */
import * as wasm from "./wasm/payseal_wasm.js";
import { Holder, PaysealError, config, ready, seconds, text } from "./base.js";

// ----------------------------------------------------------- the secret

/** A provider's renewal answer as JSON gives it (MyPVit-style). */
export interface RenewalAnswer {
  /** The account the secret belongs to. */
  operation_account_code?: string;
  /** The new secret. */
  secret: string;
  /** Its lifetime in seconds (at least 1). */
  expires_in: number;
}

const WASM = Symbol("payseal.RenewedSecret.wasm");

function invalidAnswer(what: string): PaysealError {
  return new PaysealError("invalid_answer", `the renewal answer is unusable: ${what}`);
}

function fromParts(answer: unknown): wasm.RenewedSecret {
  if (answer === null || typeof answer !== "object") throw invalidAnswer("not an object");
  const a = answer as Record<string, unknown>;
  const account = a.operation_account_code ?? "";
  if (typeof account !== "string") throw invalidAnswer("operation_account_code is not a string");
  if (typeof a.secret !== "string") throw invalidAnswer("secret is not a string");
  const expiresIn = a.expires_in;
  if (typeof expiresIn !== "number" || !Number.isSafeInteger(expiresIn) || expiresIn < 0) {
    throw invalidAnswer("expires_in is not a whole number of seconds");
  }
  ready();
  return wasm.RenewedSecret.fromParts(account, a.secret, expiresIn);
}

/**
 * A secret obtained by a renewal, kept in Wasm memory: `accountCode` and
 * `expiresIn` are plain properties, the secret shows in no property,
 * `toJSON`, `util.inspect` or error. {@link RenewedSecret.expose} reads it
 * for the one place that uses it (a header, a signer's construction);
 * `free()` wipes it, and a forgotten one is wiped when garbage-collected.
 *
 * ```ts
 * const secret = await renewer.current();
 * await fetch(url, { headers: { "X-Secret": secret.expose() } });
 * ```
 */
export class RenewedSecret extends Holder {
  /** The account the secret belongs to (`operation_account_code`; `""` when the answer had none). */
  readonly accountCode: string;
  /** Lifetime of the secret in seconds (`expires_in`). */
  readonly expiresIn: number;

  /**
   * Holds a renewal answer your own code obtained. The answer object still
   * holds the secret as a JS string: drop it afterwards.
   * @throws {PaysealError} `invalid_answer` (a lifetime of 0, an empty
   *   secret, one with surrounding whitespace, or a field of the wrong type).
   */
  constructor(answer: RenewalAnswer) {
    const given = (answer as unknown as Record<symbol, unknown> | null)?.[WASM];
    const inner = given instanceof wasm.RenewedSecret ? given : fromParts(answer);
    super(inner);
    this.accountCode = inner.accountCode;
    this.expiresIn = inner.expiresIn;
  }

  /** The secret's text: the one explicit read. Do not log it or keep it around. */
  expose(): string {
    return this.live<wasm.RenewedSecret>().expose() as string;
  }
}

function wrap(inner: wasm.RenewedSecret): RenewedSecret {
  return new RenewedSecret({ [WASM]: inner } as unknown as RenewalAnswer);
}

// ---------------------------------------------------------- the renewer

/** Options of a {@link SecretRenewer}. */
export interface SecretRenewerOptions {
  /**
   * Asks the provider for a new secret: typically
   * `() => requestSecretRenewal({ … })`, or your own code answering a
   * {@link RenewedSecret} or the provider's JSON ({@link RenewalAnswer}).
   * Throw a `PaysealError` with code `rate_limited` and `retryAfterSeconds`
   * to make the renewer wait that long.
   */
  renew: () => Promise<RenewedSecret | RenewalAnswer> | RenewedSecret | RenewalAnswer;
  /** Renew this many seconds before expiry (instead of `marginPercent`). */
  marginSeconds?: number;
  /** Renew when this share of the lifetime is left, in percent (default 10). */
  marginPercent?: number;
  /** Least time between two renewal attempts, successful or not, in seconds (default 60). */
  minIntervalSeconds?: number;
  /** The clock, unix seconds (or a `Date`); defaults to the system clock. */
  now?: () => number | Date;
}

function systemClock(): number {
  return Math.floor(Date.now() / 1000);
}

function percent(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 100) {
    throw new TypeError("marginPercent must be an integer from 0 to 100");
  }
  return value;
}

function duration(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} must be a non-negative integer (seconds)`);
  }
  return value;
}

/** What a failed renewal rejects with: payseal's own errors as they are, anything else wrapped. */
function renewalFailure(error: unknown): PaysealError {
  if (error instanceof PaysealError) return error;
  return new PaysealError("renewal_failed", "the renewal function failed", { cause: error });
}

/**
 * Keeps one account's secret fresh: renews it when none is held yet, when it
 * is within the margin of its expiry, or after the provider refused it (a
 * 401), never more often than `minIntervalSeconds` nor before a 429's
 * `Retry-After` has passed. The decisions are the core's `RenewalSchedule`.
 *
 * Single flight: every caller arriving while a renewal is in flight shares
 * it (one call of `renew`); if it fails, they all reject with the same
 * `PaysealError`, and a later call may retry once the minimum interval (or
 * `Retry-After`) has passed. Until a new secret arrives, and while renewals
 * are held back, the previous one is handed out as long as it has not
 * expired; with none, calls reject with `rate_limited` and `retryAfterSeconds`.
 *
 * ```ts
 * const renewer = new SecretRenewer({
 *   renew: () => requestSecretRenewal({ baseUrl, codeUrl, accountCode, password }),
 *   marginSeconds: 300,
 * });
 * let secret = await renewer.current();
 * let res = await callProvider(secret.expose());
 * if (res.status === 401) res = await callProvider((await renewer.onUnauthorized(secret)).expose());
 * ```
 *
 * A replaced secret is not wiped by the renewer (a caller may still be using
 * it during the provider's grace period); it is wiped when garbage-collected.
 */
export class SecretRenewer extends Holder {
  readonly #renew: () => Promise<RenewedSecret | RenewalAnswer> | RenewedSecret | RenewalAnswer;
  readonly #clock: () => number | Date;
  #current: RenewedSecret | null = null;
  #flight: Promise<RenewedSecret> | null = null;
  #freed = false;

  /** @throws {TypeError} for a missing `renew` or a malformed option. */
  constructor(options: SecretRenewerOptions) {
    const o = config(options, "SecretRenewer");
    if (typeof o.renew !== "function") throw new TypeError("renew must be a function");
    if (o.now !== undefined && typeof o.now !== "function") throw new TypeError("now must be a function");
    const marginPercent = percent(o.marginPercent);
    const marginSeconds = duration(o.marginSeconds, "marginSeconds");
    if (marginPercent !== undefined && marginSeconds !== undefined) {
      throw new TypeError("give marginSeconds or marginPercent, not both");
    }
    const minInterval = duration(o.minIntervalSeconds, "minIntervalSeconds");
    ready();
    super(new wasm.RenewalSchedule(marginPercent, marginSeconds, minInterval));
    this.#renew = o.renew;
    this.#clock = o.now ?? systemClock;
  }

  /**
   * The secret to use now, renewed first when none is held yet or it is
   * within the margin of its expiry.
   * @throws {PaysealError} the failed renewal's error (`renewal_failed`,
   *   `authentication_failed`, `rate_limited`, …), or `rate_limited` with
   *   `retryAfterSeconds` when there is no usable secret and no renewal is
   *   allowed yet.
   */
  async current(): Promise<RenewedSecret> {
    return this.#obtain(false);
  }

  /**
   * The provider answered 401 (`AUTHENTICATION_FAILED`): renews now, unless
   * the last renewal attempt is more recent than the minimum interval (then
   * the current secret is handed back). Pass the secret the refused request
   * used: when it is no longer the current one (a renewal already replaced
   * it), the current one is handed back without renewing. A burst of 401s
   * renews once.
   * @throws {PaysealError} as {@link SecretRenewer.current}.
   */
  async onUnauthorized(rejected?: RenewedSecret): Promise<RenewedSecret> {
    if (rejected !== undefined && !(rejected instanceof RenewedSecret)) {
      throw new TypeError("onUnauthorized takes the RenewedSecret the refused request used");
    }
    return this.#obtain(rejected === undefined || rejected === this.#current);
  }

  /** When the current secret expires (unix seconds); `undefined` before the first renewal. */
  get expiresAt(): number | undefined {
    return this.live<wasm.RenewalSchedule>().expiresAt;
  }

  /** Wipes the current secret and stops the renewer; a renewal in flight rejects. */
  override free(): void {
    this.#freed = true;
    this.#current?.free();
    this.#current = null;
    super.free();
  }

  #now(): number {
    return seconds(this.#clock(), "now()");
  }

  #obtain(refused: boolean): Promise<RenewedSecret> {
    const schedule = this.live<wasm.RenewalSchedule>();
    const now = this.#now();
    const step = schedule.next(now, refused) as
      | { action: "renew" }
      | { action: "join" }
      | { action: "use_current"; until: number }
      | { action: "unavailable"; retryAt: number };
    switch (step.action) {
      case "renew": {
        const flight = this.#run(schedule, now);
        this.#flight = flight;
        const settled = () => {
          if (this.#flight === flight) this.#flight = null;
        };
        flight.then(settled, settled);
        return flight;
      }
      case "join":
        if (this.#flight === null) throw new Error("payseal: the schedule has a renewal in flight but no promise");
        return this.#flight;
      case "use_current":
        if (this.#current === null) throw new Error("payseal: the schedule has a current secret but the renewer none");
        return Promise.resolve(this.#current);
      case "unavailable": {
        const wait = Math.max(0, step.retryAt - now);
        return Promise.reject(
          new PaysealError("rate_limited", `no usable secret, and no renewal is allowed for another ${wait} s`, {
            retryAfterSeconds: wait,
          }),
        );
      }
    }
  }

  /** One renewal; reports its outcome to the schedule exactly once. */
  async #run(schedule: wasm.RenewalSchedule, startedAt: number): Promise<RenewedSecret> {
    const at = () => {
      try {
        return this.#now();
      } catch {
        return startedAt;
      }
    };
    let secret: RenewedSecret;
    try {
      // Called in a later microtask, so a `renew` that throws at once still
      // settles the promise the callers share.
      await undefined;
      const answer = await this.#renew();
      secret = answer instanceof RenewedSecret ? answer : new RenewedSecret(answer);
    } catch (e) {
      const error = renewalFailure(e);
      if (!this.#freed) schedule.failed(at(), error.code === "rate_limited" ? error.retryAfterSeconds : undefined);
      throw error;
    }
    if (this.#freed) {
      if (secret !== this.#current) secret.free();
      throw new TypeError("this SecretRenewer has been freed");
    }
    schedule.renewed(at(), secret.expiresIn);
    this.#current = secret;
    return secret;
  }
}

// ------------------------------------------------- the provider's request

/** Where and how to renew an account's secret (MyPVit-style). */
export interface SecretRenewalRequest {
  /** The provider's API base, `https:` only (the password travels in the body). */
  baseUrl: string | URL;
  /** The secret-key reception URL code: the request goes to `{baseUrl}/{codeUrl}/renew-secret`. */
  codeUrl: string;
  /** The operation account code (`accountOperationCode`). */
  accountCode: string;
  /** The account's password. */
  password: string;
  /** The `fetch` to use (default `globalThis.fetch`); bind it if it needs its `this`. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** The clock, unix seconds (or a `Date`), for a `Retry-After` given as a date. */
  now?: () => number | Date;
  /** Aborts the request. */
  signal?: AbortSignal;
}

function nonEmpty(value: unknown, what: string): string {
  const t = text(value, what);
  if (t.length === 0) throw new TypeError(`${what} must not be empty`);
  return t;
}

/**
 * `POST {baseUrl}/{codeUrl}/renew-secret` with the form-urlencoded
 * `accountOperationCode` and `password`; the answer
 * `{"operation_account_code","secret","expires_in"}` is read inside Wasm
 * (the body's bytes are wiped afterwards) and must name the account asked
 * about. Redirects are not followed (the body holds the password).
 *
 * @throws {TypeError} for a malformed argument or a non-`https:` base URL.
 * @throws {PaysealError} with `status` (and `responseCode` for the
 *   documented ones): `authentication_failed` (401 `AUTHENTICATION_FAILED`),
 *   `reception_url_not_active` (403 `SECRET_KEY_RECEPTION_URL_NOT_ACTIVE`),
 *   `invalid_reception_url_code` (400 `INVALID_SECRET_KEY_RECEPTION_URL_CODE`),
 *   `rate_limited` (429, with `retryAfterSeconds` from `Retry-After`),
 *   `invalid_answer`, `unexpected_status`; `request_failed` when no answer
 *   came (its `cause` is the `fetch` error). No message holds the password
 *   or the secret.
 */
export async function requestSecretRenewal(request: SecretRenewalRequest): Promise<RenewedSecret> {
  const r = config(request, "requestSecretRenewal");
  const codeUrl = nonEmpty(r.codeUrl, "codeUrl");
  const accountCode = nonEmpty(r.accountCode, "accountCode");
  const password = nonEmpty(r.password, "password");
  if (r.fetch !== undefined && typeof r.fetch !== "function") throw new TypeError("fetch must be a function");
  // The global one is called as `globalThis.fetch(…)`: some runtimes refuse a detached `fetch`.
  const doFetch = r.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
  if (r.now !== undefined && typeof r.now !== "function") throw new TypeError("now must be a function");
  let url: URL;
  try {
    url = new URL(r.baseUrl instanceof URL ? r.baseUrl.href : text(r.baseUrl, "baseUrl"));
  } catch (e) {
    if (e instanceof TypeError && e.message === "baseUrl must be a string") throw e;
    throw new TypeError("baseUrl must be an absolute URL");
  }
  if (url.protocol !== "https:") throw new TypeError("baseUrl must be an https: URL (the password travels in the body)");
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${encodeURIComponent(codeUrl)}/renew-secret`;
  url.hash = "";
  const body = new URLSearchParams({ accountOperationCode: accountCode, password }).toString();
  let response: Response;
  let bytes: Uint8Array;
  try {
    response = await doFetch(url.href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body,
      redirect: "manual",
      ...(r.signal === undefined ? {} : { signal: r.signal }),
    });
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    throw new PaysealError("request_failed", "the renewal request got no answer", { cause: e });
  }
  try {
    const status = response.status;
    if (!Number.isInteger(status) || status < 0 || status > 999) {
      throw new PaysealError("unexpected_status", "the renewal request got no valid HTTP status");
    }
    const now = seconds(r.now === undefined ? systemClock() : r.now(), "now()");
    const retryAfter = response.headers.get("retry-after") ?? undefined;
    ready();
    return wrap(wasm.RenewedSecret.fromAnswer(status, bytes, retryAfter, accountCode, now));
  } finally {
    bytes.fill(0);
  }
}
