/**
 * The one bounded cache of the code base: a map that forgets its least recently used key once it holds more than
 * `max` entries. `get` and `set` make a key the most recently used; `onEvict` sees each entry the bound pushes out
 * (to close a file handle, say), never one removed with `delete` or `clear`.
 *
 * @example
 * ```ts
 * import { Lru } from "./lru.ts";
 * const l = new Lru<number>(2);
 * l.set("a", 1);
 * l.set("b", 2);
 * l.get("a");
 * l.set("c", 3); // "b" was used least recently
 * console.assert(l.get("b") === undefined && l.get("a") === 1);
 * ```
 * @module
 */
export class Lru<V, K = string> {
  readonly #max: number;
  readonly #m = new Map<K, V>();
  readonly #onEvict: ((key: K, value: V) => void) | undefined;

  /** At most `max` entries (at least 1). */
  constructor(max: number, onEvict?: (key: K, value: V) => void) {
    this.#max = Math.max(1, max);
    this.#onEvict = onEvict;
  }

  /** The value of `k`, now the most recently used; undefined when absent. */
  get(k: K): V | undefined {
    if (!this.#m.has(k)) return undefined;
    const v = this.#m.get(k)!;
    this.#m.delete(k);
    this.#m.set(k, v);
    return v;
  }

  /** Stores `v` under `k` as the most recently used, then evicts the least recently used beyond the bound. */
  set(k: K, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    while (this.#m.size > this.#max) {
      const [oldK, oldV] = this.#m.entries().next().value!;
      this.#m.delete(oldK);
      this.#onEvict?.(oldK, oldV);
    }
  }

  /** Removes `k` (without `onEvict`) and returns its value. */
  delete(k: K): V | undefined {
    const v = this.#m.get(k);
    this.#m.delete(k);
    return v;
  }

  /** Every value, least recently used first. */
  values(): IterableIterator<V> {
    return this.#m.values();
  }

  /** Removes every entry (without `onEvict`). */
  clear(): void {
    this.#m.clear();
  }

  get size(): number {
    return this.#m.size;
  }
}
