/**
 * The error class of the whole package, in a module of its own (no Wasm
 * import): `payseal` and each subpath (`payseal/webhooks`, …) share this one
 * class, so `instanceof PaysealError` holds whichever entry threw.
 */
/**
 * Extra fields of an API-key refusal (see `KeyChecker.check`) or of a failed
 * secret renewal (see `SecretRenewer`, `requestSecretRenewal`).
 */
export interface PaysealErrorDetails {
  /** HTTP status: the refusal answers with it (401 or 403), or the provider answered it. */
  status?: number;
  /** The provider's error code, e.g. `AUTHENTICATION_FAILED`. */
  responseCode?: string;
  /** The exact JSON response body: `{"status":…,"code":"…","message":"…"}`. */
  body?: string;
  /** Seconds before a renewal may be tried again (`rate_limited`). */
  retryAfterSeconds?: number;
  /** The underlying failure (a network error, a renewal function's own error). */
  cause?: unknown;
}

/**
 * Every failure payseal reports. `code` is the spec's stable reason
 * (`bad_signature`, `stale_timestamp`, `authentication`, `unknown_key`, …;
 * for secret renewal `authentication_failed`, `reception_url_not_active`,
 * `invalid_reception_url_code`, `rate_limited`, `invalid_answer`,
 * `unexpected_status`, `request_failed`, `renewal_failed`); the message is
 * fixed text and never contains a secret, a key, a password or a plaintext.
 */
export class PaysealError extends Error {
  /** The spec's reason string; stable across releases and runtimes. */
  readonly code: string;
  /** HTTP status, for API-key refusals. */
  readonly status?: number;
  /** Provider error code of the response body, for API-key refusals. */
  readonly responseCode?: string;
  /** The JSON response body, for API-key refusals. */
  readonly body?: string;
  /** Seconds before a renewal may be tried again, for `rate_limited`. */
  readonly retryAfterSeconds?: number;

  constructor(code: string, message: string, details?: PaysealErrorDetails) {
    super(message, details?.cause === undefined ? undefined : { cause: details.cause });
    this.name = "PaysealError";
    this.code = code;
    if (details !== undefined && details !== null) {
      if (details.status !== undefined) this.status = details.status;
      if (details.responseCode !== undefined) this.responseCode = details.responseCode;
      if (details.body !== undefined) this.body = details.body;
      if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
    }
  }
}

