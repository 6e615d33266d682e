/**
 * Results of many small jobs gathered into one promise, without a promise or closure per job: the hot path of a
 * `/submit_batch` request runs tens of thousands of signature and commit jobs a second, and a promise per job was a
 * large share of its garbage (docs/performance.md "Bulk submit"). Each job settles its slot `k` of a `Slots`
 * once; `Gather` resolves when all of its slots are settled, a failed slot holding its error as `Failed`; `One` is
 * the one-job form, which resolves with the value or rejects with the error.
 */

/** Where a job leaves its result. */
export interface Slots<T> {
  put(k: number, v: T): void;
  fail(k: number, e: unknown): void;
}

/** A slot whose job failed, and why. */
export class Failed {
  constructor(readonly error: unknown) {}
}

/** `n` slots (indexes below `size`), gathered: `done` resolves with every slot once the last one is settled. */
export class Gather<T> implements Slots<T> {
  readonly out: (T | Failed)[];
  readonly done: Promise<(T | Failed)[]>;
  #left: number;
  #resolve!: (out: (T | Failed)[]) => void;

  constructor(n: number, size = n) {
    this.out = new Array(size);
    this.#left = n;
    this.done = new Promise((r) => (this.#resolve = r));
    if (n === 0) this.#resolve(this.out);
  }

  put(k: number, v: T): void {
    this.#settle(k, v);
  }

  fail(k: number, e: unknown): void {
    this.#settle(k, new Failed(e));
  }

  #settle(k: number, v: T | Failed): void {
    this.out[k] = v;
    if (--this.#left === 0) this.#resolve(this.out);
  }
}

/** One slot: `done` resolves with its value, or rejects with its error. */
export class One<T> implements Slots<T> {
  readonly done: Promise<T>;
  #resolve!: (v: T) => void;
  #reject!: (e: unknown) => void;

  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  put(_k: number, v: T): void {
    this.#resolve(v);
  }

  fail(_k: number, e: unknown): void {
    this.#reject(e);
  }
}
