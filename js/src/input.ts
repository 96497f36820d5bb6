/**
 * Argument translation shared by every part of the package: bodies, header
 * containers, clocks and secret lists, checked in JS (a wrong type is a
 * `TypeError`, never a Wasm trap) and turned into what the core takes.
 * Internal: the public types are re-exported by each module.
 */
import { PaysealError } from "./errors.js";
import { seconds, text, unixSeconds } from "./base.js";

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

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** Typed structurally: the .d.ts must not need a lib that declares TextEncoder as a type. */
export const encoder: { encode(input?: string): Uint8Array } = new TextEncoder();
export const decoder: { decode(input?: Uint8Array): string } = new TextDecoder();

/** What a body mistake's `TypeError` says to do, for the usual frameworks. */
export const RAW_BODY_HINT =
  "pass the raw body exactly as received (a string, Buffer/Uint8Array or ArrayBuffer), not parsed or re-serialized JSON: " +
  "the signature covers those exact bytes. Express: app.post(path, express.raw({type: 'application/json'}), …) then req.body; " +
  "Hono: await c.req.text() (or await c.req.arrayBuffer()); Next.js route handler: await req.text()";

/**
 * The body as the core takes it: a short string (copied into Wasm memory as
 * UTF-8 by the glue) or bytes. Long strings are encoded natively first, which
 * is faster than the glue's per-character copy. A parsed object (the usual
 * mistake after `express.json()`) is a `TypeError` saying how to get the raw body.
 */
export function body(value: unknown, what = "body"): string | Uint8Array {
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
export function bytes(value: unknown, what = "body"): Uint8Array {
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
export function flattenHeaders(headers: unknown): string {
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

export function now(options: { now?: number | Date } | undefined): number {
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
export function verifyNow(options: { now?: number | Date } | undefined): number {
  const given = options?.now;
  return given === undefined ? Math.floor(Date.now() / 1000) : seconds(given, "now");
}

/** Runs a verification at `t`; a stale answer to a millisecond `now` is the caller's unit mistake. */
export function judged<T>(t: number, verify: () => T): T {
  try {
    return verify();
  } catch (e) {
    if (t > 1e11 && e instanceof PaysealError && e.code === "stale_timestamp") unixSeconds(t, "now");
    throw e;
  }
}

export function options<T extends object>(value: T | undefined, what: string): T | undefined {
  if (value !== undefined && (value === null || typeof value !== "object")) {
    throw new TypeError(`${what} must be an object`);
  }
  return value;
}

export function optionalText(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : text(value, what);
}

/** One or more secrets; the messages never show a value. */
export function secretList(secrets: unknown, secret: unknown): string[] {
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

export function randomId(): string {
  return globalThis.crypto.randomUUID();
}

