/**
 * MMR node files: `mmr/<label hex>.nodes`, one per label, fixed 32-byte entries in postorder position order, so the
 * node at position p is bytes `[32p, 32p + 32)` (core/mmr.ts numbering). After n leaves a file holds
 * `nodeCountForLeaves(n) = 2n - popcount(n)` nodes. The files are derivable from the log; they exist so proofs cost
 * O(log n) positional reads.
 *
 * Writes go to an explicit position (32 × the committed node count), never "the end", so bytes left past the
 * indexed size by a crash are overwritten; {@link NodeStore.reconcile} truncates them at start-up anyway. Reads and
 * writes of one file share a handle under a lock (seek + read/write must not interleave).
 */
import { toHex, VeenError } from "../core/mod.ts";
import { fileSize, HandleCache, mkdir700, readAt, syncDir, writeAll } from "./log_segments.ts";

/** Bytes per stored node. */
export const NODE_BYTES = 32;

const NODE_FILE_RE = /^([0-9a-f]+)\.nodes$/;

export class NodeStore {
  readonly dir: string;
  readonly #handles: HandleCache;
  /** Labels (hex) whose file existed or was created and its directory entry synced in this process. */
  readonly #known = new Set<string>();

  private constructor(dir: string, maxHandles: number) {
    this.dir = dir;
    this.#handles = new HandleCache(maxHandles, (hex) =>
      Deno.open(this.#path(hex), { read: true, write: true, create: true, mode: 0o600 }));
  }

  /** Opens (creating) the node directory `dir`. */
  static async open(dir: string, opts: { maxHandles?: number } = {}): Promise<NodeStore> {
    await mkdir700(dir);
    return new NodeStore(dir, opts.maxHandles ?? 256);
  }

  #path(hex: string): string {
    return `${this.dir}/${hex}.nodes`;
  }

  /**
   * Makes every node file match the index: `expected(labelHex)` is the committed node count. Longer files (a crash
   * after the node write, before the index commit) are truncated; files of labels with no committed nodes are
   * removed. Returns the labels whose files are shorter than the index (lost data: the caller rebuilds or fails).
   * O(files): one stat each, no reads.
   */
  async reconcile(expected: (labelHex: string) => number, onRepair: (what: string) => void = () => {}) {
    const short: string[] = [];
    const seen = new Set<string>();
    for await (const e of Deno.readDir(this.dir)) {
      const m = e.isFile ? NODE_FILE_RE.exec(e.name) : null;
      if (!m) continue;
      const hex = m[1]!;
      seen.add(hex);
      const want = expected(hex) * NODE_BYTES;
      const size = await fileSize(this.#path(hex));
      if (size > want) {
        await this.#handles.drop(hex);
        if (want === 0) {
          await Deno.remove(this.#path(hex));
          seen.delete(hex);
        } else {
          await Deno.truncate(this.#path(hex), want);
        }
        onRepair(`node file ${hex.slice(0, 16)}… had ${size / NODE_BYTES} nodes, the index ${want / NODE_BYTES}`);
      } else if (size < want) {
        short.push(hex);
      }
    }
    for (const hex of seen) this.#known.add(hex);
    return { short, seen };
  }

  /** Truncates the node file of `label` to `count` nodes (replay, before re-appending tail nodes). */
  async truncate(label: Uint8Array, count: number): Promise<void> {
    const hex = toHex(label);
    const size = await fileSize(this.#path(hex));
    if (size > count * NODE_BYTES) {
      await this.#handles.use(hex, (f) => f.truncate(count * NODE_BYTES));
    }
  }

  /**
   * Writes `nodes` (32 bytes each, in position order) starting at node position `fromCount`, then fdatasyncs the
   * file (and the directory when the file is new). One write per call.
   */
  async writeAndSync(label: Uint8Array, fromCount: number, nodes: readonly Uint8Array[]): Promise<void> {
    const hex = toHex(label);
    const buf = new Uint8Array(nodes.length * NODE_BYTES);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (n.length !== NODE_BYTES) throw new VeenError("E.SIZE", "MMR node hashes must be 32 bytes");
      buf.set(n, i * NODE_BYTES);
    }
    const isNew = !this.#known.has(hex);
    await this.#handles.use(hex, async (f) => {
      await f.seek(fromCount * NODE_BYTES, Deno.SeekMode.Start);
      await writeAll(f, buf);
      await f.syncData();
    });
    if (isNew) {
      this.#known.add(hex);
      await syncDir(this.dir);
    }
  }

  /**
   * Node hashes at `positions` (in the order asked) for a label with `count` committed nodes; E.NOT_FOUND for a
   * position at or past `count`. Adjacent or nearby positions are fetched with one read.
   */
  async readHashes(label: Uint8Array, positions: readonly number[], count: number): Promise<Uint8Array[]> {
    for (const p of positions) {
      if (!Number.isSafeInteger(p) || p < 0 || p >= count) {
        throw new VeenError("E.NOT_FOUND", `No MMR node at position ${p} (the label has ${count})`);
      }
    }
    if (positions.length === 0) return [];
    const hex = toHex(label);
    const order = positions.map((_, i) => i).sort((a, b) => positions[a]! - positions[b]!);
    const out = new Array<Uint8Array>(positions.length);
    const GAP = 8; // merge runs separated by at most 8 nodes (256 bytes)
    await this.#handles.use(hex, async (f) => {
      let i = 0;
      while (i < order.length) {
        const start = positions[order[i]!]!;
        let end = start;
        let j = i + 1;
        while (j < order.length && positions[order[j]!]! <= end + GAP) {
          end = Math.max(end, positions[order[j]!]!);
          j++;
        }
        const buf = await readAt(f, start * NODE_BYTES, (end - start + 1) * NODE_BYTES);
        if (buf.length !== (end - start + 1) * NODE_BYTES) {
          throw new VeenError("E.UNAVAILABLE", `Node file of label ${hex.slice(0, 16)}… is shorter than its index`);
        }
        for (let k = i; k < j; k++) {
          const p = positions[order[k]!]!;
          out[order[k]!] = buf.slice((p - start) * NODE_BYTES, (p - start + 1) * NODE_BYTES);
        }
        i = j;
      }
    });
    return out;
  }

  async close(): Promise<void> {
    await this.#handles.closeAll();
  }
}
