/**
 * Webhook verification and signing (Stripe, Standard Webhooks with its
 * Svix-branded headers), the stripe- and svix-shaped helpers, and the replay
 * guard: `payseal/webhooks`, also part of `payseal`.
 */
import * as wasm from "./wasm/payseal_wasm.js";
import { Holder, PaysealError, config, optionalSeconds, ready, text, unixSeconds } from "./base.js";
import {
  type Body,
  type HeaderValue,
  type HeadersInput,
  type Verified,
  type VerifyOptions,
  RAW_BODY_HINT,
  body,
  decoder,
  flattenHeaders,
  judged,
  randomId,
  secretList,
  verifyNow,
} from "./input.js";

export { PaysealError, type PaysealErrorDetails } from "./errors.js";
export type { Body, HeaderValue, HeadersInput, Verified, VerifyOptions } from "./input.js";

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

// ------------------------------------------------------------- webhooks

/** The webhook schemes {@link Webhooks} verifies. */
export type WebhookScheme = "stripe" | "standard_webhooks";

function webhookScheme(value: unknown): WebhookScheme {
  if (value !== "stripe" && value !== "standard_webhooks") {
    throw new TypeError('scheme must be "stripe" or "standard_webhooks"');
  }
  return value;
}

/** What the Wasm side answers for a verified webhook, decoded. */
interface WasmVerifiedWebhook {
  secretIndex: number;
  id: string | null;
  timestamp: number;
  replayId: string;
  replayExpiresAt: number;
}

/** Decodes `secretIndex\0timestamp\0replayExpiresAt\0replayId[\0id]`. */
function verifiedFrom(answer: string): WasmVerifiedWebhook {
  const [secretIndex, timestamp, replayExpiresAt, replayId, id] = answer.split("\0") as [string, string, string, string, string?];
  return {
    secretIndex: Number(secretIndex),
    timestamp: Number(timestamp),
    replayExpiresAt: Number(replayExpiresAt),
    replayId,
    id: id === undefined ? null : id,
  };
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
    const verified = verifiedFrom(
      judged(t, () =>
        typeof b === "string" ? inner.verifyWebhookText(b, flat, t, tolerance) : inner.verifyWebhook(b, flat, t, tolerance),
      ),
    );
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

