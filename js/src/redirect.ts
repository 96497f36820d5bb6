/**
 * The encrypted `data` of a return URL (`payseal/redirect`, also part of `payseal`).
 */
import * as wasm from "./wasm/payseal_wasm.js";
import { Holder, config, optionalSeconds, ready, text } from "./base.js";
import { isBytes, now } from "./input.js";

export { PaysealError, type PaysealErrorDetails } from "./errors.js";

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

