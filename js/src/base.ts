/**
 * What every part of the package shares: the registration of the error
 * class, the holder of a Wasm object, and the argument checks (a wrong type is a `TypeError`, never
 * a Wasm trap). Internal: the package exports only `PaysealError` from here.
 */
import * as wasm from "./wasm/payseal_wasm.js";

// The shipped .d.ts names `Symbol.dispose`; declared here so it compiles under
// any `lib` (es2022 without esnext.disposable included), as @types/node does.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

import { PaysealError } from "./errors.js";

export { PaysealError, type PaysealErrorDetails } from "./errors.js";

let errorClassRegistered = false;

/** Hands the error class to the Wasm side once, before the first core call. */
export function ready(): void {
  if (!errorClassRegistered) {
    wasm.setErrorClass(PaysealError);
    errorClassRegistered = true;
  }
}

export function seconds(value: unknown, what: string): number {
  if (value instanceof Date) value = Math.floor(value.getTime() / 1000);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} must be a non-negative integer (unix seconds)`);
  }
  return value;
}

/**
 * A point in time as unix seconds (or a `Date`). A number above 10^11 is a
 * millisecond count (`Date.now()`), a `TypeError` naming the unit rather
 * than a silent `stale_timestamp`.
 */
export function unixSeconds(value: unknown, what: string): number {
  if (typeof value === "number" && value > 1e11) {
    throw new TypeError(
      `${what} must be unix seconds, but ${value} is in milliseconds (Date.now()): pass Math.floor(Date.now() / 1000) or a Date`,
    );
  }
  return seconds(value, what);
}

export function optionalSeconds(value: unknown, what: string): number | undefined {
  return value === undefined || value === null ? undefined : seconds(value, what);
}

export function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw new TypeError(`${what} must be a string`);
  return value;
}

export function config<T extends object>(value: T | undefined, what: string): T {
  if (value === null || typeof value !== "object") throw new TypeError(`${what} needs an options object`);
  return value;
}

/** What every Wasm object has. */
export interface Freeable {
  free(): void;
}

/**
 * Holds one Wasm object in a private field (invisible to `util.inspect`,
 * `JSON.stringify` and property enumeration); `free()` wipes it, and use
 * after `free()` is a `TypeError`.
 */
export abstract class Holder {
  #inner: Freeable | null;

  protected constructor(inner: Freeable) {
    this.#inner = inner;
  }

  /** The live Wasm object. */
  protected live<T extends Freeable>(): T {
    const inner = this.#inner;
    if (inner === null) throw new TypeError(`this ${this.constructor.name} has been freed`);
    return inner as T;
  }

  /** Wipes the prepared keys now; the holder cannot be used afterwards. */
  free(): void {
    const inner = this.#inner;
    this.#inner = null;
    inner?.free();
  }

  /**
   * `using holder = new …` frees it at the end of the block (where the
   * runtime has `Symbol.dispose`).
   */
  [Symbol.dispose](): void {
    this.free();
  }
}
