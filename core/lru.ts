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
  /**
   * A key iterator kept between evictions. Every live key lies after its position (the keys before it were
   * evicted, or deleted and set again at the end), so its next key is the least recently used. A fresh iterator
   * per eviction would step over every deleted slot from the table's start each time: V8 compacts the table only
   * when it grows, so that cost grew with the evictions (25-38 µs per `set` at 16 384 entries).
   */
  #oldest: MapIterator<K> | undefined;

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
      let r = this.#oldest?.next();
      if (r === undefined || r.done === true) r = (this.#oldest = this.#m.keys()).next();
      const oldK = r.value as K;
      const oldV = this.#onEvict === undefined ? undefined : this.#m.get(oldK);
      this.#m.delete(oldK);
      this.#onEvict?.(oldK, oldV as V);
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
    this.#oldest = undefined;
  }

  get size(): number {
    return this.#m.size;
  }
}
