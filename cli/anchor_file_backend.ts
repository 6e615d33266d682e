/**
 * The file anchor backend of `veen anchor` (ANCHOR0.1 on a local, append-only ledger): the log of
 * cmd/anchor_file_log.ts (shared with the hub's anchoring) plus the bindings of ANCHOR0.2.
 *
 * ```
 * <dir>/anchors.log                       160-byte hash-chained records; record i at offset 160 * i
 * <dir>/bindings/<anchor_ref hex>.cbor    the CHECKPOINT bytes whose mmr_root that record anchors (ANCHOR0.2)
 * <dir>/bindings/root-<mmr_root hex>.ref  the latest anchor_ref of that root (hex and a newline)
 * ```
 */
import { fromHex, toHex } from "../core/mod.ts";
import { FileAnchorLog } from "../cmd/mod.ts";
import { writeFileAtomic } from "./files.ts";

export const BINDINGS_DIR = "bindings";

export class FileAnchorBackend extends FileAnchorLog {
  bindingPath(ref: Uint8Array): string {
    return `${this.dir}/${BINDINGS_DIR}/${toHex(ref)}.cbor`;
  }

  #rootIndexPath(root: Uint8Array): string {
    return `${this.dir}/${BINDINGS_DIR}/root-${toHex(root)}.ref`;
  }

  /** Stores the CHECKPOINT beside its anchor_ref (ANCHOR0.2) and indexes the ref by mmr_root. */
  async storeBinding(ref: Uint8Array, checkpointBytes: Uint8Array, root: Uint8Array): Promise<string> {
    await Deno.mkdir(`${this.dir}/${BINDINGS_DIR}`, { recursive: true });
    const path = this.bindingPath(ref);
    await writeFileAtomic(path, checkpointBytes, 0o644);
    await writeFileAtomic(this.#rootIndexPath(root), toHex(ref) + "\n", 0o644);
    return path;
  }

  /** The latest anchor_ref recorded for `root`, if any. */
  async refForRoot(root: Uint8Array): Promise<Uint8Array | undefined> {
    let text: string;
    try {
      text = (await Deno.readTextFile(this.#rootIndexPath(root))).trim();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    return /^[0-9a-f]{80}$/.test(text) ? fromHex(text, 40) : undefined;
  }
}
