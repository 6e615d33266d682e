/** Test helpers for the hub's store: valid commit batches per label, as the sequencer would build them. */
import assert from "node:assert/strict";
import { H, MmrAccumulator, toHex } from "../core/mod.ts";
import type { DiskStore } from "../hub/disk_store.ts";
import type { CommitEntry } from "../hub/store.ts";
import { prng } from "./util.ts";

export const labelN = (i: number) => H(new Uint8Array([0x6c, i]));

/** Generates valid CommitEntries per label (as the sequencer would) and remembers them. */
export class Gen {
  readonly accs = new Map<string, MmrAccumulator>();
  readonly byLabel = new Map<string, CommitEntry[]>();
  readonly #r;
  #ts = 1_700_000_000;

  constructor(seed: number, store?: DiskStore) {
    this.#r = prng(seed);
    if (store) {
      for (const h of store.heads()) this.accs.set(toHex(h.label), new MmrAccumulator(h.seq, h.peaks));
    }
  }

  entry(label: Uint8Array): CommitEntry {
    const hex = toHex(label);
    let acc = this.accs.get(hex);
    if (acc === undefined) this.accs.set(hex, acc = new MmrAccumulator());
    const leaf = this.#r.bytes(32);
    const a = acc.append(leaf);
    const clientId = new Uint8Array(32).fill(a.seq % 7);
    const e: CommitEntry = {
      label,
      streamSeq: a.seq,
      leafHash: leaf,
      clientId,
      clientSeq: a.seq,
      authRef: a.seq % 2 === 0 ? null : this.#r.bytes(32),
      hubTs: this.#ts++,
      receipt: this.#r.bytes(150 + this.#r.int(40)),
      msg: this.#r.bytes(300 + this.#r.int(500)),
      newNodes: a.newNodes,
      peaks: acc.peaks(),
    };
    let list = this.byLabel.get(hex);
    if (list === undefined) this.byLabel.set(hex, list = []);
    list.push(e);
    return e;
  }

  batch(labels: Uint8Array[], n: number): CommitEntry[] {
    return Array.from({ length: n }, (_, i) => this.entry(labels[i % labels.length]!));
  }

  /** Forgets the last entry of `label` (it was lost in a simulated crash). */
  dropLast(label: Uint8Array): void {
    this.forget([this.byLabel.get(toHex(label))!.at(-1)!]);
  }

  /** Forgets `entries`, which must be the newest of their labels. */
  forget(entries: CommitEntry[]): void {
    const touched = new Set<string>();
    for (const e of entries.slice().reverse()) {
      const list = this.byLabel.get(toHex(e.label))!;
      assert.equal(list.pop(), e);
      touched.add(toHex(e.label));
    }
    for (const hex of touched) {
      const acc = new MmrAccumulator();
      for (const e of this.byLabel.get(hex)!) acc.append(e.leafHash);
      this.accs.set(hex, acc);
    }
  }
}

export async function fill(
  store: DiskStore,
  gen: Gen,
  labels: Uint8Array[],
  total: number,
  batch = 64,
): Promise<void> {
  for (let done = 0; done < total; done += batch) {
    await store.commit(gen.batch(labels, Math.min(batch, total - done)));
  }
  await store.flushIndex(); // the index is written behind the log; tests that simulate crashes count from here
}
