/**
 * payseal: payment-API signatures, webhook verification, encrypted redirect
 * data, API-key checks and idempotency decisions, computed by one Rust core
 * compiled to WebAssembly.
 *
 * This file only translates: it checks argument types (a wrong type is a
 * `TypeError`, never a Wasm trap), turns bodies and headers into what the core
 * takes, and turns the core's answers into plain JS values. Every rule lives
 * in the core.
 *
 * Secret holders (`Webhooks`, `DvpaySigner`, …) are built once and reused.
 * They keep their prepared keys inside Wasm memory only: no property,
 * `toJSON`, `util.inspect` or error message shows a secret. `free()` (or
 * `using` / `Symbol.dispose`) wipes the keys at once; a forgotten holder is
 * wiped when it is garbage-collected.
 */
import * as wasm from "./wasm/payseal_wasm.js";
import { Holder, PaysealError, config, optionalSeconds, ready, seconds, text, unixSeconds } from "./base.js";

export { PaysealError, type PaysealErrorDetails } from "./base.js";
export * from "./renewal.js";

// ------------------------------------------------------- input translation

/** A raw body: exactly the bytes received or to be sent (never re-serialized JSON). */
export type Body = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** One header value as the usual header containers hold it (bytes are read as UTF-8). */
export type HeaderValue = string | readonly string[] | number | Uint8Array | undefined | null;

/**
 * Header fields: a `Headers` instance, Node's `IncomingHttpHeaders` (or any
 * plain object), a `Map`, or a list of `[name, value]` pairs. Names are
 * case-insensitive; a field given several values (an array, or repeated
 * pairs) is combined as HTTP combines it.
 */
export type HeadersInput =
  | { forEach(callback: (value: string, name: string) => void): void; get(name: string): string | null }
  | Readonly<Record<string, HeaderValue>>
  | ReadonlyMap<string, HeaderValue>
  | ReadonlyArray<readonly [string, HeaderValue]>;

/** Time inputs of a verification. */
export interface VerifyOptions {
  /** Current time (unix seconds, or a `Date`); defaults to the system clock. */
  now?: number | Date;
  /** Largest accepted distance between `now` and the message time, seconds (default 300). */
  tolerance?: number;
}

/** A successful verification. */
export interface Verified {
  /** Position of the matching secret in the list the holder was built with (rotation). */
  secretIndex: number;
}

/** A verified webhook (Stripe or Standard Webhooks). */
export interface VerifiedWebhook extends Verified {
  /** The sender's message id (`webhook-id` / `svix-id`); `null` for Stripe, whose event id is in the body. */
  readonly id: string | null;
  /** The signed timestamp, unix seconds. */
  readonly timestamp: number;
  /**
   * The body parsed as JSON (the event), or `undefined` when the body is not
   * JSON. Parsed on first read, once; nothing is parsed when unused.
   */
  readonly event: unknown;
}

/**
 * A replay guard's hook: called once a signature has verified, with what
 * identifies the delivery (Standard Webhooks: the `webhook-id`; Stripe:
 * `t=<t>,v1=<the matching signature>`) and the unix second until which it
 * must be remembered (after that the timestamp is stale and the delivery is
 * refused anyway); `now` is the verification's clock (unix seconds).
 * Answers `true` when the id was already seen (the webhook is then refused
 * with `replayed_signature`), else records it and answers `false`. For a
 * store shared by several processes (Redis `SET NX EXAT`, a KV), make the
 * check-and-record atomic and use `verifyAsync`.
 */
export type SeenHook = (id: string, expiresAt: number, now: number) => boolean | PromiseLike<boolean>;

/** Verification inputs of a webhook: the clock, and a replay guard for this call. */
export interface WebhookVerifyOptions extends VerifyOptions {
  /** Replay guard for this call (overrides the holder's `seen`). */
  seen?: SeenHook;
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a body mistake's `TypeError` says to do, for the usual frameworks. */
const RAW_BODY_HINT =
  "pass the raw body exactly as received (a string, Buffer/Uint8Array or ArrayBuffer), not parsed or re-serialized JSON: " +
  "the signature covers those exact bytes. Express: app.post(path, express.raw({type: 'application/json'}), …) then req.body; " +
  "Hono: await c.req.text() (or await c.req.arrayBuffer()); Next.js route handler: await req.text()";

/**
 * The body as the core takes it: a short string (copied into Wasm memory as
 * UTF-8 by the glue) or bytes. Long strings are encoded natively first, which
 * is faster than the glue's per-character copy. A parsed object (the usual
 * mistake after `express.json()`) is a `TypeError` saying how to get the raw body.
 */
function body(value: unknown, what = "body"): string | Uint8Array {
  if (typeof value === "string") {
    if (value === "[object Object]") throw new TypeError(`${what} is "[object Object]" (an object turned into a string): ${RAW_BODY_HINT}`);
    return value.length > 1024 ? encoder.encode(value) : value;
  }
  if (isBytes(value)) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value === undefined || value === null) throw new TypeError(`${what} is missing: ${RAW_BODY_HINT}`);
  if (typeof value === "object") throw new TypeError(`${what} is a parsed object, not the raw body: ${RAW_BODY_HINT}`);
  throw new TypeError(`${what} must be a string, a Uint8Array (or Buffer) or an ArrayBuffer: ${RAW_BODY_HINT}`);
}

/** The body as bytes, for core calls that only take bytes. */
function bytes(value: unknown, what = "body"): Uint8Array {
  const b = body(value, what);
  return typeof b === "string" ? encoder.encode(b) : b;
}

function pair(name: unknown, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof name !== "string") throw new TypeError("header names must be strings");
  if (typeof value === "number") value = String(value);
  if (isBytes(value)) value = decoder.decode(value);
  if (typeof value === "string") {
    // NUL never occurs in an HTTP field; it separates the flattened pairs.
    if (name.includes("\0") || value.includes("\0")) {
      throw new TypeError(`header "${name.replace(/\0/g, "")}" contains a NUL character`);
    }
    return name + "\0" + value + "\0";
  }
  if (Array.isArray(value)) {
    let out = "";
    for (const v of value) out += pair(name, v);
    return out;
  }
  throw new TypeError(`header "${name}" must be a string, a Buffer/Uint8Array or a list of them`);
}

/** Flattens any header container into `name\0value\0…` for the core. */
function flattenHeaders(headers: unknown): string {
  if (headers === null || typeof headers !== "object") {
    throw new TypeError("headers must be a Headers instance, a plain object, a Map or a list of [name, value] pairs");
  }
  let out = "";
  if (Array.isArray(headers)) {
    for (const entry of headers) {
      if (!Array.isArray(entry) || entry.length !== 2) throw new TypeError("header pairs must be [name, value]");
      out += pair(entry[0], entry[1]);
    }
  } else if (headers instanceof Map) {
    for (const [name, value] of headers) out += pair(name, value);
  } else if (
    typeof (headers as { forEach?: unknown }).forEach === "function" &&
    typeof (headers as { get?: unknown }).get === "function"
  ) {
    (headers as { forEach(cb: (value: string, name: string) => void): void }).forEach((value, name) => {
      out += pair(name, value);
    });
  } else {
    const record = headers as Record<string, unknown>;
    for (const name of Object.keys(record)) out += pair(name, record[name]);
  }
  return out;
}

function now(options: { now?: number | Date } | undefined): number {
  const given = options?.now;
  return given === undefined ? Math.floor(Date.now() / 1000) : unixSeconds(given, "now");
}

/**
 * The clock of a verification: unix seconds, or a `Date`. A millisecond
 * count is passed through, so the core judges the headers first (a
 * millisecond timestamp header is `malformed_header`); when the only
 * complaint is `stale_timestamp`, {@link judged} turns it into a `TypeError`
 * naming the unit.
 */
function verifyNow(options: { now?: number | Date } | undefined): number {
  const given = options?.now;
  return given === undefined ? Math.floor(Date.now() / 1000) : seconds(given, "now");
}

/** Runs a verification at `t`; a stale answer to a millisecond `now` is the caller's unit mistake. */
function judged<T>(t: number, verify: () => T): T {
  try {
    return verify();
  } catch (e) {
    if (t > 1e11 && e instanceof PaysealError && e.code === "stale_timestamp") unixSeconds(t, "now");
    throw e;
  }
}

function options<T extends object>(value: T | undefined, what: string): T | undefined {
  if (value !== undefined && (value === null || typeof value !== "object")) {
    throw new TypeError(`${what} must be an object`);
  }
  return value;
}

function optionalText(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : text(value, what);
}

/** One or more secrets; the messages never show a value. */
function secretList(secrets: unknown, secret: unknown): string[] {
  const list = secrets !== undefined ? secrets : secret !== undefined ? [secret] : undefined;
  if (typeof list === "string") return [list];
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError("secrets must be a non-empty list of strings");
  }
  return list.map((s, i) => {
    if (typeof s !== "string") throw new TypeError(`secrets[${i}] must be a string`);
    return s;
  });
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

// ------------------------------------------------------------- webhooks

/** The webhook schemes {@link Webhooks} verifies. */
export type WebhookScheme = "stripe" | "standard_webhooks";

function webhookScheme(value: unknown): WebhookScheme {
  if (value !== "stripe" && value !== "standard_webhooks") {
    throw new TypeError('scheme must be "stripe" or "standard_webhooks"');
  }
  return value;
}

/** Verifies the header-borne schemes (Stripe, Standard Webhooks, DVPay) over the raw body. */
function verifyHeaders(inner: wasm.HeaderVerifier, rawBody: Body, headers: HeadersInput, options?: VerifyOptions): Verified {
  const flat = flattenHeaders(headers);
  const o = options as VerifyOptions | undefined;
  const t = verifyNow(o);
  const tolerance = optionalSeconds(o?.tolerance, "tolerance");
  const b = body(rawBody);
  const secretIndex = judged(t, () =>
    typeof b === "string" ? inner.verifyText(b, flat, t, tolerance) : inner.verify(b, flat, t, tolerance),
  );
  return { secretIndex };
}

/** What the Wasm side answers for a verified webhook. */
interface WasmVerifiedWebhook {
  secretIndex: number;
  id: string | null;
  timestamp: number;
  replayId: string;
  replayExpiresAt: number;
}

/** A verified webhook; `event` is parsed from the kept body on first read. */
class WebhookResult implements VerifiedWebhook {
  readonly secretIndex: number;
  readonly id: string | null;
  readonly timestamp: number;
  #body: string | Uint8Array | null;
  #event: unknown;

  constructor(verified: WasmVerifiedWebhook, rawBody: string | Uint8Array) {
    this.secretIndex = verified.secretIndex;
    this.id = verified.id;
    this.timestamp = verified.timestamp;
    this.#body = rawBody;
  }

  get event(): unknown {
    const raw = this.#body;
    if (raw !== null) {
      this.#body = null;
      try {
        this.#event = JSON.parse(typeof raw === "string" ? raw : decoder.decode(raw));
      } catch {
        this.#event = undefined;
      }
    }
    return this.#event;
  }

  toJSON(): { secretIndex: number; id: string | null; timestamp: number; event: unknown } {
    return { secretIndex: this.secretIndex, id: this.id, timestamp: this.timestamp, event: this.event };
  }
}

function seenHook(value: unknown, what: string): SeenHook | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "function") throw new TypeError(`${what} must be a function (id, expiresAt) => boolean`);
  return value as SeenHook;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function replayed(): PaysealError {
  ready();
  return wasm.replayedSignature() as PaysealError;
}

/** The seen hook's answer: `true` is a replay; anything but a boolean is a `TypeError`. */
function judgeSeen(answer: unknown): void {
  if (answer === true) throw replayed();
  if (answer !== false) throw new TypeError("the seen hook must answer true (already seen) or false");
}

/**
 * Verifies incoming webhooks (Stripe-style `Stripe-Signature`, or Standard
 * Webhooks `webhook-id` / `webhook-timestamp` / `webhook-signature`, also
 * under their Svix-branded names `svix-id` / `svix-timestamp` /
 * `svix-signature`) over the raw body, against one or more secrets
 * (rotation). Every secret is checked when the holder is built: an unusable
 * one is a `PaysealError` `invalid_secret` naming its position.
 *
 * ```ts
 * const wh = new Webhooks({ scheme: "stripe", secrets: [process.env.STRIPE_WHSEC!], seen: memorySeen() });
 * app.post("/hook", express.raw({ type: "application/json" }), (req, res) => {
 *   const { event } = wh.verify(req.body, req.headers); // throws PaysealError
 * });
 * ```
 */
export class Webhooks extends Holder {
  /** The scheme this holder verifies. */
  readonly scheme: WebhookScheme;
  readonly #seen: SeenHook | undefined;

  /**
   * `seen` is an optional replay guard ({@link SeenHook}, e.g. {@link memorySeen}):
   * a webhook delivered a second time is refused with `replayed_signature`.
   * @throws {PaysealError} `invalid_secret` naming the unusable secret's position.
   */
  constructor(options: { scheme: WebhookScheme; secrets?: readonly string[] | string; secret?: string; seen?: SeenHook }) {
    const o = config(options, "Webhooks");
    const scheme = webhookScheme(o.scheme);
    const secrets = secretList(o.secrets, o.secret);
    const seen = seenHook(o.seen, "seen");
    ready();
    super(new wasm.HeaderVerifier(scheme, secrets));
    this.scheme = scheme;
    this.#seen = seen;
  }

  #check(
    rawBody: Body,
    headers: HeadersInput,
    options: WebhookVerifyOptions | undefined,
  ): [WebhookResult, WasmVerifiedWebhook, number] {
    const inner = this.live<wasm.HeaderVerifier>();
    const o = options as WebhookVerifyOptions | undefined;
    const b = body(rawBody);
    const flat = flattenHeaders(headers);
    const t = verifyNow(o);
    const tolerance = optionalSeconds(o?.tolerance, "tolerance");
    const verified = judged(t, () =>
      typeof b === "string" ? inner.verifyWebhookText(b, flat, t, tolerance) : inner.verifyWebhook(b, flat, t, tolerance),
    ) as WasmVerifiedWebhook;
    return [new WebhookResult(verified, typeof rawBody === "string" ? rawBody : b), verified, t];
  }

  /**
   * Verifies the signature headers over the raw body; with a `seen` hook,
   * refuses a delivery seen before. The hook must answer synchronously here
   * (an asynchronous store: {@link Webhooks.verifyAsync}).
   * @throws {PaysealError} `missing_signature`, `malformed_header`,
   *   `stale_timestamp`, `bad_signature` or `replayed_signature`.
   * @throws {TypeError} for a parsed body (pass the raw body), a millisecond `now`.
   */
  verify(rawBody: Body, headers: HeadersInput, options?: WebhookVerifyOptions): VerifiedWebhook {
    const [result, verified, t] = this.#check(rawBody, headers, options);
    const seen = seenHook(options?.seen, "seen") ?? this.#seen;
    if (seen !== undefined) {
      const answer = seen(verified.replayId, verified.replayExpiresAt, t);
      if (isThenable(answer)) throw new TypeError("the seen hook answered a Promise: use verifyAsync with an asynchronous store");
      judgeSeen(answer);
    }
    return result;
  }

  /**
   * As {@link Webhooks.verify}, awaiting the `seen` hook (a shared store:
   * Redis, a KV, a database).
   */
  async verifyAsync(rawBody: Body, headers: HeadersInput, options?: WebhookVerifyOptions): Promise<VerifiedWebhook> {
    const [result, verified, t] = this.#check(rawBody, headers, options);
    const seen = seenHook(options?.seen, "seen") ?? this.#seen;
    if (seen !== undefined) judgeSeen(await seen(verified.replayId, verified.replayExpiresAt, t));
    return result;
  }
}

/** The in-memory replay guard {@link memorySeen} returns. */
export interface MemorySeen {
  (id: string, expiresAt: number, now?: number): boolean;
  /** Ids held now (expired ones included until swept). */
  readonly size: number;
  /** Forgets an id (e.g. when the handler failed and the sender's retry must pass). */
  delete(id: string): boolean;
  /** Forgets every id. */
  clear(): void;
}

/**
 * A replay guard held in this process's memory: correct for one process
 * only (several instances, serverless isolates, workers each hold their
 * own; share a store across them with your own {@link SeenHook}). Holds at
 * most `maxEntries` ids (default 10 000): when full, expired ids are swept
 * first, then the oldest is dropped (a flood of valid deliveries can push an
 * id out before it expires, so size it above your peak deliveries per
 * tolerance window). Expiry is judged on the verification's clock (the
 * hook's `now`), else on `options.now` or the system clock.
 */
export function memorySeen(options?: { maxEntries?: number; now?: () => number }): MemorySeen {
  const o = options === undefined ? {} : config(options, "memorySeen");
  const max = o.maxEntries === undefined ? 10_000 : o.maxEntries;
  if (!Number.isSafeInteger(max) || max < 1) throw new TypeError("maxEntries must be a positive integer");
  if (o.now !== undefined && typeof o.now !== "function") throw new TypeError("now must be a function answering unix seconds");
  const clock = o.now ?? (() => Math.floor(Date.now() / 1000));
  const held = new Map<string, number>();
  let lastSweep = -Infinity;
  const hook = (id: string, expiresAt: number, now?: number): boolean => {
    const t = typeof now === "number" ? now : clock();
    const until = held.get(id);
    if (until !== undefined) {
      if (until > t) return true;
      held.delete(id);
    }
    if (held.size >= max && t !== lastSweep) {
      // At most one full sweep per second: a flood cannot make every insert O(n).
      lastSweep = t;
      for (const [key, end] of held) if (end <= t) held.delete(key);
    }
    while (held.size >= max) {
      const oldest = held.keys().next();
      if (oldest.done === true) break;
      held.delete(oldest.value);
    }
    held.set(id, expiresAt);
    return false;
  };
  return Object.defineProperties(hook, {
    size: { get: () => held.size },
    delete: { value: (id: string) => held.delete(id) },
    clear: { value: () => held.clear() },
  }) as MemorySeen;
}

/** Headers a {@link WebhookSigner} produces: ready to send. */
export type WebhookHeaders = Record<string, string>;

/**
 * Signs outgoing webhooks (a sender, or a test double producing valid headers
 * for a fixed timestamp, like stripe's `generateTestHeaderString`).
 */
export class WebhookSigner extends Holder {
  /** The scheme this holder signs. */
  readonly scheme: WebhookScheme;

  constructor(options: { scheme: WebhookScheme; secret: string }) {
    const o = config(options, "WebhookSigner");
    const scheme = webhookScheme(o.scheme);
    const secret = text(o.secret, "secret");
    ready();
    super(scheme === "stripe" ? new wasm.StripeSigner(secret) : new wasm.StandardWebhooksSigner(secret));
    this.scheme = scheme;
  }

  /**
   * The signature headers for `rawBody`: `stripe-signature` for Stripe;
   * `webhook-id`, `webhook-timestamp` and `webhook-signature` for Standard
   * Webhooks (`id` defaults to a random `msg_…`).
   * @throws {PaysealError} `invalid_secret`.
   */
  sign(rawBody: Body, options?: { timestamp?: number | Date; id?: string }): WebhookHeaders {
    const o = options as { timestamp?: number | Date; id?: string } | undefined;
    const inner = this.live<wasm.StripeSigner | wasm.StandardWebhooksSigner>();
    const timestamp = o?.timestamp === undefined ? Math.floor(Date.now() / 1000) : unixSeconds(o.timestamp, "timestamp");
    const b = body(rawBody);
    if (inner instanceof wasm.StripeSigner) {
      const header = typeof b === "string" ? inner.signText(b, timestamp) : inner.sign(b, timestamp);
      return { "stripe-signature": header };
    }
    const id = o?.id === undefined ? `msg_${randomId().replace(/-/g, "")}` : text(o.id, "id");
    const signature = typeof b === "string" ? inner.signText(id, timestamp, b) : inner.sign(id, timestamp, b);
    return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature };
  }
}

// ------------------------------------------- stripe- and svix-shaped helpers

/**
 * stripe-node's `stripe.webhooks.constructEvent(payload, header, secret,
 * tolerance)`: verifies the `Stripe-Signature` header value over the raw
 * payload and returns the parsed event (a `SyntaxError` when the verified
 * payload is not JSON). Builds a verifier per call; a hot path keeps a
 * {@link Webhooks} instead. Unlike stripe, the tolerance (default 300 s)
 * always applies, to future timestamps too.
 * @throws {PaysealError} as {@link Webhooks.verify}.
 * @throws {TypeError} for a missing or parsed payload, or a header given as an array.
 */
export function constructEvent(
  payload: Body,
  header: string | Uint8Array | null | undefined,
  secret: string | readonly string[],
  options?: number | WebhookVerifyOptions,
): unknown {
  const o: WebhookVerifyOptions | undefined = typeof options === "number" ? { tolerance: options } : options;
  if (payload === undefined || payload === null || (typeof payload === "string" && payload.length === 0)) {
    throw new TypeError(`No webhook payload was provided: ${RAW_BODY_HINT}`);
  }
  if (Array.isArray(header)) {
    throw new TypeError("the stripe-signature header was given as an array: pass its single value");
  }
  const wh = new Webhooks({ scheme: "stripe", secrets: typeof secret === "string" ? [secret] : secret });
  try {
    const raw = body(payload, "payload");
    wh.verify(raw, { "stripe-signature": header as HeaderValue }, o);
    return JSON.parse(typeof raw === "string" ? raw : decoder.decode(raw)) as unknown;
  } finally {
    wh.free();
  }
}

/**
 * stripe-node's `stripe.webhooks.generateTestHeaderString({ payload, secret,
 * timestamp })`: a valid `Stripe-Signature` value for tests (timestamp
 * defaults to now; a fractional one is floored, as stripe does).
 * @throws {PaysealError} `invalid_secret`.
 */
export function generateTestHeaderString(options: { payload: Body; secret: string; timestamp?: number | Date }): string {
  const o = config(options, "generateTestHeaderString");
  const timestamp = typeof o.timestamp === "number" ? Math.floor(o.timestamp) : o.timestamp;
  const signer = new WebhookSigner({ scheme: "stripe", secret: o.secret });
  try {
    return signer.sign(o.payload, timestamp === undefined ? undefined : { timestamp })["stripe-signature"] as string;
  } finally {
    signer.free();
  }
}

/**
 * The svix / standardwebhooks `Webhook`: `new Webhook(secret).verify(payload,
 * headers)` returns the parsed payload; `sign(msgId, timestamp, payload)` the
 * `webhook-signature` value. Reads `webhook-*` and `svix-*` headers alike.
 * The secret (`whsec_…` or bare base64) is checked here: an unusable one is a
 * `PaysealError` `invalid_secret`, which is also exported as
 * `WebhookVerificationError` for code that catches that class.
 */
export class Webhook {
  readonly #verifier: Webhooks;
  readonly #signer: WebhookSigner;

  constructor(secret: string | readonly string[], options?: { seen?: SeenHook }) {
    if (typeof secret !== "string" && !Array.isArray(secret)) throw new TypeError("secret must be a whsec_… string");
    const secrets = typeof secret === "string" ? [secret] : secret;
    this.#verifier = new Webhooks({ scheme: "standard_webhooks", secrets, seen: options?.seen as SeenHook });
    this.#signer = new WebhookSigner({ scheme: "standard_webhooks", secret: secrets[0] as string });
  }

  /**
   * Verifies and returns the parsed payload (a `SyntaxError` when it is not JSON).
   * @throws {PaysealError} as {@link Webhooks.verify}.
   */
  verify(payload: Body, headers: HeadersInput, options?: WebhookVerifyOptions): unknown {
    const raw = body(payload, "payload");
    this.#verifier.verify(raw, headers, options);
    return JSON.parse(typeof raw === "string" ? raw : decoder.decode(raw)) as unknown;
  }

  /** The `webhook-signature` value (`v1,<base64>`) for `msgId` at `timestamp`. */
  sign(msgId: string, timestamp: Date | number, payload: Body): string {
    const headers = this.#signer.sign(payload, { id: text(msgId, "msgId"), timestamp });
    return headers["webhook-signature"] as string;
  }

  /** Wipes the prepared keys now. */
  free(): void {
    this.#verifier.free();
    this.#signer.free();
  }

  /** `using wh = new Webhook(…)` frees it at the end of the block. */
  [Symbol.dispose](): void {
    this.free();
  }
}

/** `PaysealError` under the name svix and standardwebhooks users catch. */
export { PaysealError as WebhookVerificationError };

// ----------------------------------------------------------------- DVPay

/** The four headers of a signed DVPay request. */
export interface DvpayHeaders {
  "X-Api-Key": string;
  "X-Timestamp": string;
  "X-Signature": string;
  "X-Idempotent-Key": string;
  [name: string]: string;
}

/**
 * Signs DVPay financial requests: `X-Signature = hex(HMAC-SHA256(secret, body ‖ X-Timestamp))`.
 *
 * ```ts
 * const dvpay = new DvpaySigner({ apiKey, secret });
 * await fetch(url, { method: "POST", body, headers: { ...dvpay.sign(body), "content-type": "application/json" } });
 * ```
 */
export class DvpaySigner extends Holder {
  constructor(options: { apiKey: string; secret: string }) {
    const o = config(options, "DvpaySigner");
    const apiKey = text(o.apiKey, "apiKey");
    const secret = text(o.secret, "secret");
    ready();
    super(new wasm.DvpaySigner(apiKey, secret));
  }

  /**
   * The four headers; `timestamp` defaults to now, `idempotencyKey` to a random UUID.
   * @throws {PaysealError} `invalid_secret`.
   */
  sign(rawBody: Body, options?: { timestamp?: number | Date; idempotencyKey?: string }): DvpayHeaders {
    const o = options as { timestamp?: number | Date; idempotencyKey?: string } | undefined;
    const inner = this.live<wasm.DvpaySigner>();
    const timestamp = o?.timestamp === undefined ? Math.floor(Date.now() / 1000) : unixSeconds(o.timestamp, "timestamp");
    const key = o?.idempotencyKey === undefined ? randomId() : text(o.idempotencyKey, "idempotencyKey");
    const b = body(rawBody);
    return (typeof b === "string" ? inner.signText(b, timestamp, key) : inner.sign(b, timestamp, key)) as DvpayHeaders;
  }

  /**
   * Only the hex `X-Signature` value.
   * @throws {PaysealError} `invalid_secret`.
   */
  signature(rawBody: Body, options?: { timestamp?: number | Date }): string {
    const o = options as { timestamp?: number | Date } | undefined;
    const inner = this.live<wasm.DvpaySigner>();
    const timestamp = o?.timestamp === undefined ? Math.floor(Date.now() / 1000) : unixSeconds(o.timestamp, "timestamp");
    const b = body(rawBody);
    return typeof b === "string" ? inner.signatureText(b, timestamp) : inner.signature(b, timestamp);
  }
}

/** Verifies DVPay `X-Timestamp` / `X-Signature` over the raw body, with one or more secrets. */
export class DvpayVerifier extends Holder {
  constructor(options: { secrets?: readonly string[] | string; secret?: string }) {
    const o = config(options, "DvpayVerifier");
    const secrets = secretList(o.secrets, o.secret);
    ready();
    super(new wasm.HeaderVerifier("dvpay", secrets));
  }

  /**
   * @throws {PaysealError} `missing_signature`, `malformed_header`,
   *   `invalid_secret`, `stale_timestamp` or `bad_signature`.
   */
  verify(rawBody: Body, headers: HeadersInput, options?: VerifyOptions): Verified {
    return verifyHeaders(this.live<wasm.HeaderVerifier>(), rawBody, headers, options);
  }
}

// ----------------------------------------------------------- Cybersource

/** A request as the Cybersource SDK signs it. */
export interface CybersourceRequest {
  /** `Host`, e.g. `apitest.cybersource.com`. */
  host: string;
  /** HTTP method. */
  method: string;
  /** Path and query, as sent. */
  target: string;
  /** `v-c-merchant-id`. */
  merchantId: string;
  /** Raw body (POST, PUT, PATCH). */
  body?: Body | null;
  /** `Date` as an IMF-fixdate; defaults to `now`. */
  date?: string;
}

/** What {@link CybersourceSigner.sign} returns. */
export interface CybersourceSigned {
  /** The `Signature` header value. */
  signature: string;
  /** The `Digest` header value (POST, PUT, PATCH), else `null`. */
  digest: string | null;
  /** The `Date` that was signed. */
  date: string;
  /** Every header to send: `host`, `date`, `v-c-merchant-id`, `signature` and `digest` when there is one. */
  headers: Record<string, string>;
}

/** Signs Cybersource REST requests (HTTP Signature with a shared secret). */
export class CybersourceSigner extends Holder {
  constructor(options: { keyId: string; secret: string }) {
    const o = config(options, "CybersourceSigner");
    const keyId = text(o.keyId, "keyId");
    const secret = text(o.secret, "secret");
    ready();
    super(new wasm.CybersourceSigner(keyId, secret));
  }

  /** @throws {PaysealError} `invalid_secret`. */
  sign(request: CybersourceRequest, options?: { now?: number | Date }): CybersourceSigned {
    const r = config(request, "sign");
    const inner = this.live<wasm.CybersourceSigner>();
    const host = text(r.host, "host");
    const method = text(r.method, "method");
    const target = text(r.target, "target");
    const merchantId = text(r.merchantId, "merchantId");
    const date = optionalText(r.date, "date");
    const b = r.body === undefined || r.body === null ? new Uint8Array(0) : bytes(r.body);
    const signed = inner.sign(host, method, target, date, now(options), merchantId, b) as {
      signature: string;
      digest?: string;
      date: string;
    };
    const headers: Record<string, string> = { host, date: signed.date, "v-c-merchant-id": merchantId };
    if (signed.digest !== undefined) headers.digest = signed.digest;
    headers.signature = signed.signature;
    return { signature: signed.signature, digest: signed.digest ?? null, date: signed.date, headers };
  }
}

/** A configured Cybersource key: the id the sender names, and its base64 shared secret. */
export interface CybersourceKey {
  keyId: string;
  secret: string;
}

/** Verifies Cybersource HTTP Signatures, with one or more keys (rotation). */
export class CybersourceVerifier extends Holder {
  readonly #keyIds: string[];

  constructor(options: { keys: readonly CybersourceKey[] }) {
    const o = config(options, "CybersourceVerifier");
    if (!Array.isArray(o.keys) || o.keys.length === 0) throw new TypeError("keys must be a non-empty list of { keyId, secret }");
    const keyIds: string[] = [];
    const secrets: string[] = [];
    o.keys.forEach((key: unknown, i: number) => {
      const k = config(key as CybersourceKey, `keys[${i}]`);
      keyIds.push(text(k.keyId, `keys[${i}].keyId`));
      secrets.push(text(k.secret, `keys[${i}].secret`));
    });
    ready();
    super(new wasm.CybersourceVerifier(keyIds, secrets));
    this.#keyIds = keyIds;
  }

  /**
   * Verifies `Signature`, `Date` and (POST, PUT, PATCH) `Digest`.
   * @throws {PaysealError} `missing_signature`, `malformed_header`,
   *   `invalid_secret`, `stale_timestamp`, `bad_digest` or `bad_signature`.
   */
  verify(
    request: { method: string; target: string; headers: HeadersInput; body?: Body | null },
    options?: VerifyOptions,
  ): Verified & { keyId: string } {
    const r = config(request, "verify");
    const inner = this.live<wasm.CybersourceVerifier>();
    const method = text(r.method, "method");
    const target = text(r.target, "target");
    const flat = flattenHeaders(r.headers);
    const b = r.body === undefined || r.body === null ? new Uint8Array(0) : bytes(r.body);
    const o = options as VerifyOptions | undefined;
    const t = verifyNow(o);
    const secretIndex = judged(t, () => inner.verify(method, target, flat, b, t, optionalSeconds(o?.tolerance, "tolerance")));
    return { secretIndex, keyId: this.#keyIds[secretIndex] as string };
  }
}

// ---------------------------------------------------------------- RFC 9421

/** A `Signature-Input` parameter: `created`/`expires` integers; `nonce`, `keyid`, `tag`, `alg` strings. */
export type SignatureParam = readonly [name: string, value: number | string];

/** An outgoing request to sign with {@link HttpMessageSigner}. */
export interface HttpMessageToSign {
  method: string;
  /** Absolute URL: `scheme://authority/path?query`. */
  url: string | URL;
  /** The request's header fields (those covered must be present). */
  headers?: HeadersInput;
  /** Raw body as sent. */
  body?: Body | null;
  /** Covered components in order, e.g. `["@method", "@authority", "@path", "content-digest"]`. */
  components: readonly string[];
  /** Signature label (default `sig1`). */
  label?: string;
  /**
   * Parameters in the order they are written. Default: `created` = now, then
   * `keyid` when the signer was given a `keyId`.
   */
  params?: readonly SignatureParam[];
}

/** Fields to add to the signed request. */
export interface HttpMessageSignatureHeaders {
  "signature-input": string;
  signature: string;
  /** Present when the signer made a `Content-Digest` (covered, non-empty body, none given). */
  "content-digest"?: string;
  [name: string]: string | undefined;
}

function paramList(value: unknown): { names: string[]; values: Array<number | string> } {
  if (!Array.isArray(value)) throw new TypeError("params must be a list of [name, value] pairs");
  const names: string[] = [];
  const values: Array<number | string> = [];
  value.forEach((entry: unknown, i: number) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") {
      throw new TypeError(`params[${i}] must be a [name, value] pair`);
    }
    const v: unknown = entry[1];
    if (!(typeof v === "string" || (typeof v === "number" && Number.isSafeInteger(v)))) {
      throw new TypeError(`params[${i}] value must be an integer or a string`);
    }
    names.push(entry[0]);
    values.push(v);
  });
  return { names, values };
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new TypeError(`${what} must be a list of strings`);
  }
  return value as string[];
}

/**
 * Signs outgoing requests with RFC 9421 HTTP Message Signatures
 * (`hmac-sha256`, RFC 9530 `Content-Digest`).
 *
 * ```ts
 * const signer = new HttpMessageSigner({ secret: process.env.PSK!, keyId: "psk-live-2025" });
 * const body = JSON.stringify(payment);
 * const headers = { "content-type": "application/json" };
 * const signed = signer.sign({ method: "POST", url, headers, body,
 *   components: ["@method", "@authority", "@path", "content-type", "content-digest"] });
 * await fetch(url, { method: "POST", body, headers: { ...headers, ...signed } });
 * ```
 */
export class HttpMessageSigner extends Holder {
  readonly #keyId: string | undefined;

  constructor(options: { secret: string; keyId?: string }) {
    const o = config(options, "HttpMessageSigner");
    const secret = text(o.secret, "secret");
    const keyId = optionalText(o.keyId, "keyId");
    ready();
    super(new wasm.HttpMessageSigner(secret));
    this.#keyId = keyId;
  }

  /**
   * @throws {PaysealError} `malformed_header` (bad label, component or
   *   parameter), `missing_signature` (a covered field is absent) or `invalid_secret`.
   */
  sign(request: HttpMessageToSign, options?: { now?: number | Date }): HttpMessageSignatureHeaders {
    const r = config(request, "sign");
    const inner = this.live<wasm.HttpMessageSigner>();
    const method = text(r.method, "method");
    const url = r.url instanceof URL ? r.url.href : text(r.url, "url");
    const flat = r.headers === undefined || r.headers === null ? "" : flattenHeaders(r.headers);
    const b = r.body === undefined || r.body === null ? new Uint8Array(0) : bytes(r.body);
    const label = r.label === undefined ? "sig1" : text(r.label, "label");
    const components = stringList(r.components, "components");
    let params: readonly SignatureParam[];
    if (r.params === undefined) {
      const defaults: SignatureParam[] = [["created", now(options)]];
      if (this.#keyId !== undefined) defaults.push(["keyid", this.#keyId]);
      params = defaults;
    } else {
      params = r.params;
    }
    const { names, values } = paramList(params);
    return inner.sign(method, url, flat, b, label, components, names, values) as HttpMessageSignatureHeaders;
  }
}

/** A received request to verify with {@link HttpMessageVerifier}. */
export interface HttpMessageToVerify {
  method: string;
  /** Absolute URL the request was sent to. */
  url: string | URL;
  /** Header fields, including `signature`, `signature-input` and any covered `content-digest`. */
  headers: HeadersInput;
  /** Raw body as received. */
  body?: Body | null;
}

/** Verifies RFC 9421 HTTP Message Signatures against keys configured by `keyid` (rotation). */
export class HttpMessageVerifier extends Holder {
  constructor(options: { keys: Readonly<Record<string, string>> | ReadonlyMap<string, string> }) {
    const o = config(options, "HttpMessageVerifier");
    const entries: Array<[unknown, unknown]> =
      o.keys instanceof Map ? [...o.keys.entries()] : Object.entries(config(o.keys as Record<string, string>, "keys"));
    if (entries.length === 0) throw new TypeError("keys must map at least one keyid to its secret");
    const keyIds: string[] = [];
    const secrets: string[] = [];
    for (const [keyId, secret] of entries) {
      keyIds.push(text(keyId, "keyid"));
      secrets.push(text(secret, `secret of keyid "${String(keyId)}"`));
    }
    ready();
    super(new wasm.HttpMessageVerifier(keyIds, secrets));
  }

  /**
   * `required` lists the components every accepted signature must cover.
   * @throws {PaysealError} `missing_signature`, `malformed_header`,
   *   `unknown_key`, `invalid_secret`, `insufficient_coverage`,
   *   `stale_timestamp`, `bad_digest` or `bad_signature`.
   */
  verify(
    request: HttpMessageToVerify,
    options?: VerifyOptions & { required?: readonly string[] },
  ): { label: string; keyId: string } {
    const r = config(request, "verify");
    const inner = this.live<wasm.HttpMessageVerifier>();
    const method = text(r.method, "method");
    const url = r.url instanceof URL ? r.url.href : text(r.url, "url");
    const flat = flattenHeaders(r.headers);
    const b = r.body === undefined || r.body === null ? new Uint8Array(0) : bytes(r.body);
    const o = options as (VerifyOptions & { required?: readonly string[] }) | undefined;
    const required = o?.required === undefined ? [] : stringList(o.required, "required");
    const t = verifyNow(o);
    return judged(t, () => inner.verify(method, url, flat, b, required, t, optionalSeconds(o?.tolerance, "tolerance"))) as {
      label: string;
      keyId: string;
    };
  }
}

/** The RFC 9530 `Content-Digest` field value of a body (`sha-256` by default, or `sha-512`). */
export function contentDigest(rawBody: Body, algorithm: "sha-256" | "sha-512" = "sha-256"): string {
  ready();
  return wasm.contentDigest(text(algorithm, "algorithm"), bytes(rawBody));
}

// --------------------------------------------------------------- redirect

/** An opened redirect payload: the known fields typed, every field kept. */
export interface RedirectData {
  sessionId: string;
  status: "completed" | "failed" | "cancelled" | "pending";
  paymentReference?: string;
  amount?: { value: number; currency: string };
  orderId?: string;
  iat?: number;
  exp?: number;
  [field: string]: unknown;
}

/** Options of a {@link RedirectOpener}. */
export interface RedirectOpenerOptions {
  /** The environment the client secret belongs to. */
  environment: "live" | "test";
  /** The merchant's client secret of that environment. */
  clientSecret: string;
  /** Key derivation: `sha256` (default), `hex` or `base64`. */
  kdf?: "sha256" | "hex" | "base64";
  /** Envelope: `v1` (AES-256-GCM, default) or the opt-in `legacy-cbc`. */
  profile?: "v1" | "legacy-cbc";
  /** Seconds accepted after `exp` (default 0). */
  clockSkew?: number;
}

/**
 * Opens the encrypted `data` parameter of a return URL (and, for test
 * doubles, seals one).
 * @throws {PaysealError} `invalid_secret` when the secret does not fit the kdf.
 */
export class RedirectOpener extends Holder {
  /** The environment this opener accepts tokens of. */
  readonly environment: "live" | "test";

  constructor(options: RedirectOpenerOptions) {
    const o = config(options, "RedirectOpener");
    const environment = text(o.environment, "environment") as "live" | "test";
    const secret = text(o.clientSecret, "clientSecret");
    const kdf = o.kdf === undefined ? "sha256" : text(o.kdf, "kdf");
    const profile = o.profile === undefined ? "v1" : text(o.profile, "profile");
    const skew = optionalSeconds(o.clockSkew, "clockSkew");
    ready();
    super(new wasm.RedirectOpener(environment, profile, kdf, secret, skew));
    this.environment = environment;
  }

  /**
   * Decodes, decrypts and validates `data` (the query parameter, as received).
   * @throws {PaysealError} `too_large`, `malformed`, `unsupported_version`
   *   (a token of a newer format: upgrade payseal), `authentication`,
   *   `invalid_payload` or `expired`.
   */
  open(data: string, options?: { now?: number | Date }): RedirectData {
    const inner = this.live<wasm.RedirectOpener>();
    const token = text(data, "data");
    return JSON.parse(inner.open(token, now(options))) as RedirectData;
  }

  /**
   * Seals a payload as a `v1` token (provider side, or a test double).
   * `nonce` (12 bytes) defaults to fresh random bytes; never reuse one.
   * @throws {PaysealError} `invalid_payload` or `unsupported_profile`.
   */
  seal(payload: RedirectData | string, options?: { nonce?: Uint8Array }): string {
    const inner = this.live<wasm.RedirectOpener>();
    const json = typeof payload === "string" ? payload : JSON.stringify(config(payload, "payload"));
    const nonce = options?.nonce === undefined ? globalThis.crypto.getRandomValues(new Uint8Array(12)) : options.nonce;
    if (!isBytes(nonce)) throw new TypeError("nonce must be a Uint8Array of 12 bytes");
    return inner.seal(json, nonce);
  }
}

// ------------------------------------------------------------------- keys

/** Gateway policy, in the spec's format (`keys.md`). */
export interface KeyPolicy {
  accepted_formats?: Array<"prefixed" | "hex64" | "uuid" | "base64-secret">;
  test_route_prefixes?: string[];
  scope_routes?: Record<string, string[]>;
  clock_skew?: number;
}

/** A key record, in the spec's format: the key's SHA-256, never the key. */
export interface KeyRecord {
  id: string;
  key_sha256: string;
  environment: "live" | "test";
  scopes?: string[];
  allowed_ips?: string[];
  webcode?: string | null;
  status?: "active" | "revoked";
  not_before?: number | null;
  expires_at?: number | null;
  superseded_at?: number | null;
  grace_seconds?: number;
}

/** What a gateway knows about an incoming request. */
export interface KeyCheckRequest {
  /** The key header's value; `null`/`undefined` when absent. */
  apiKey?: string | null;
  method: string;
  /** Path (and query). */
  path: string;
  /** The client's address as the gateway determined it. */
  clientIp?: string | null;
  /** The merchant the request names, when it names one. */
  webcode?: string | null;
}

/** An allowed request. */
export interface KeyAllowed {
  keyId: string;
  environment: "live" | "test";
}

/**
 * The gateway's ordered API-key check (format, digest lookup, status,
 * validity, rotation, environment, scopes, IP allow-list, webcode).
 * @throws {TypeError} when `policy` or `records` do not have the spec's shape.
 * @throws {PaysealError} `invalid_config` for duplicate ids or digests.
 */
export class KeyChecker extends Holder {
  constructor(options: { policy?: KeyPolicy; records: readonly KeyRecord[] }) {
    const o = config(options, "KeyChecker");
    if (!Array.isArray(o.records)) throw new TypeError("records must be a list of key records");
    const policy = JSON.stringify(o.policy === undefined ? {} : config(o.policy, "policy"));
    const records = JSON.stringify(o.records);
    ready();
    super(new wasm.KeyChecker(policy, records));
  }

  /**
   * @throws {PaysealError} whose `code` is the refusal's reason
   *   (`missing_key`, `malformed_key`, `unknown_key`, …), with `status`,
   *   `responseCode` and the response `body` to send.
   */
  check(request: KeyCheckRequest, options?: { now?: number | Date }): KeyAllowed {
    const r = config(request, "check");
    const inner = this.live<wasm.KeyChecker>();
    return inner.check(
      optionalText(r.apiKey, "apiKey"),
      text(r.method, "method"),
      text(r.path, "path"),
      optionalText(r.clientIp, "clientIp"),
      optionalText(r.webcode, "webcode"),
      now(options),
    ) as KeyAllowed;
  }
}

/** A new active key record for `key` (hashed here; the key is not kept). */
export function createKeyRecord(options: { id: string; key: string; environment: "live" | "test" }): KeyRecord {
  const o = config(options, "createKeyRecord");
  const id = text(o.id, "id");
  const key = text(o.key, "key");
  const environment = text(o.environment, "environment");
  ready();
  return JSON.parse(wasm.createKeyRecord(id, key, environment)) as KeyRecord;
}

/** Whether to renew a secret now. */
export type RenewalDecision =
  | { action: "renew_now" }
  | { action: "wait_until"; at: number }
  | { action: "rate_limited"; retryAt: number };

/**
 * Merchant-side renewal helper: renew when `marginPercent` (default 10) of the
 * lifetime is left, or at once after a `401 AUTHENTICATION_FAILED`, never twice
 * within `minInterval` seconds.
 */
export function shouldRenew(
  lifetime: { issuedAt: number; expiresIn: number; lastRenewalAt?: number | null },
  options?: { now?: number | Date; authenticationFailed?: boolean; marginPercent?: number; minInterval?: number },
): RenewalDecision {
  const l = config(lifetime, "shouldRenew");
  const o = options ?? {};
  ready();
  return wasm.shouldRenew(
    seconds(l.issuedAt, "issuedAt"),
    seconds(l.expiresIn, "expiresIn"),
    optionalSeconds(l.lastRenewalAt, "lastRenewalAt"),
    optionalSeconds(o.marginPercent, "marginPercent"),
    optionalSeconds(o.minInterval, "minInterval"),
    now(o),
    o.authenticationFailed === true,
  ) as RenewalDecision;
}

// ------------------------------------------------------------ idempotency

/** A request carrying an idempotency key. */
export interface IdempotentRequest {
  /** The `Idempotency-Key` / `X-Idempotent-Key` value. */
  key: string;
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Raw body. */
  body?: Body | null;
  /** Environment of the API key that sent it. */
  environment: "live" | "test";
  /** Id of the API key that sent it. */
  keyId: string;
}

/** A stored upstream response, in the core's JSON format. */
export interface StoredResponse {
  status: number;
  headers: Array<[string, string]>;
  /** The body, standard base64. */
  body_base64: string;
}

/** What a store keeps; JSON-able, in the core's format (shared with the native gateway). */
export interface IdempotencyRecord {
  endpoint: string;
  fingerprint: string;
  state: { state: "in_flight" } | ({ state: "finished" } & StoredResponse);
  expires_at: number;
}

/** A response to replay. */
export interface ReplayedResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/** What to do with a request. */
export type IdempotencyDecision =
  | { outcome: "execute"; record: IdempotencyRecord }
  | { outcome: "replay"; response: ReplayedResponse }
  | { outcome: "conflict"; status: 409; code: string; message: string; body: string };

/**
 * What to do with the claim once the upstream's outcome is known: store the
 * answer, release the claim, or replace it with `record` (outcome unknown:
 * retries get 409 `IDEMPOTENCY_OUTCOME_UNKNOWN` until it expires).
 */
export type IdempotencyCompletion =
  | { outcome: "store"; record: IdempotencyRecord }
  | { outcome: "release" }
  | { outcome: "keep_unknown"; record: IdempotencyRecord };

function environmentName(value: unknown): string {
  return text(value, "environment");
}

/** Where the request's record lives in the store (namespaced by environment and key id). */
export function storageKey(request: Pick<IdempotentRequest, "key" | "environment" | "keyId">): string {
  const r = config(request, "storageKey");
  ready();
  return wasm.idempotencyStorageKey(text(r.key, "key"), environmentName(r.environment), text(r.keyId, "keyId"));
}

/**
 * Decides from the record read from the store (or `null`). On `execute`,
 * store `record` atomically only if the key is still free (e.g. Redis
 * `SET NX PX`), then run the request and call {@link finish}.
 */
export function decide(
  stored: IdempotencyRecord | null | undefined,
  request: IdempotentRequest,
  options?: { now?: number | Date; ttl?: number },
): IdempotencyDecision {
  const r = config(request, "decide");
  const o = options ?? {};
  const storedJson = stored === undefined || stored === null ? undefined : JSON.stringify(config(stored, "stored"));
  ready();
  const out = JSON.parse(
    wasm.idempotencyDecide(
      storedJson,
      text(r.key, "key"),
      text(r.method, "method"),
      text(r.path, "path"),
      r.body === undefined || r.body === null ? new Uint8Array(0) : bytes(r.body),
      environmentName(r.environment),
      text(r.keyId, "keyId"),
      now(o),
      optionalSeconds(o.ttl, "ttl"),
    ),
  ) as { outcome: string; response?: StoredResponse };
  if (out.outcome === "replay" && out.response !== undefined) {
    const response = out.response;
    const body = Uint8Array.from(atob(response.body_base64), (c) => c.charCodeAt(0));
    return { outcome: "replay", response: { status: response.status, headers: response.headers, body } };
  }
  return out as IdempotencyDecision;
}

/**
 * Completes a claim with the upstream's response; `"not_sent"` when the
 * request never left (connection refused: the claim is released); `null`
 * when it was sent and no answer came (timeout, reset): the claim is kept as
 * outcome unknown, since the charge may have run. 5xx answers release the
 * claim; other answers are stored for replay.
 */
export function finish(
  claim: IdempotencyRecord,
  response: { status: number; headers?: Array<[string, string]> | Record<string, string>; body?: Body | null } | "not_sent" | null,
): IdempotencyCompletion {
  const c = config(claim, "claim");
  let status: number | undefined;
  let headersJson: string | undefined;
  let body: Uint8Array = new Uint8Array(0);
  const notSent = response === "not_sent";
  if (response !== null && response !== undefined && !notSent) {
    const r = config(response, "response");
    status = r.status as number;
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new TypeError("response.status must be an HTTP status code");
    }
    const headers = r.headers === undefined ? [] : Array.isArray(r.headers) ? r.headers : Object.entries(r.headers);
    headersJson = JSON.stringify(headers);
    if (r.body !== undefined && r.body !== null) body = bytes(r.body, "response.body");
  }
  ready();
  return JSON.parse(wasm.idempotencyFinish(JSON.stringify(c), status, headersJson, body, notSent)) as IdempotencyCompletion;
}
