/**
 * Request signatures: DVPay, Cybersource and RFC 9421 HTTP Message
 * Signatures (`payseal/signing`, also part of `payseal`).
 */
import * as wasm from "./wasm/payseal_wasm.js";
import { Holder, config, optionalSeconds, ready, text, unixSeconds } from "./base.js";
import {
  type Body,
  type HeadersInput,
  type Verified,
  type VerifyOptions,
  body,
  bytes,
  flattenHeaders,
  judged,
  now,
  optionalText,
  randomId,
  secretList,
  verifyNow,
} from "./input.js";

export { PaysealError, type PaysealErrorDetails } from "./errors.js";
export type { Body, HeaderValue, HeadersInput, Verified, VerifyOptions } from "./input.js";

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

