/**
 * API keys, idempotency decisions and secret renewal (`payseal/keys`, also
 * part of `payseal`).
 */
import * as wasm from "./wasm/payseal_wasm.js";
import { Holder, config, optionalSeconds, ready, seconds, text } from "./base.js";
import { type Body, bytes, now, optionalText } from "./input.js";

export { PaysealError, type PaysealErrorDetails } from "./errors.js";
export type { Body } from "./input.js";
export * from "./renewal.js";

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
