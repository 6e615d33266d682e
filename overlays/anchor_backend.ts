/**
 * ANCHOR0.1 external anchor interface:
 * `anchor_publish(root: bstr(32), epoch: uint, ts: uint, nonce: bytes) -> anchor_ref` and
 * `anchor_verify(root: bstr(32), anchor_ref: bytes) -> bool`.
 *
 * A backend maps these onto a ledger of its choice. `MemoryAnchorBackend` keeps the anchor log format of
 * anchor_log.ts in memory (tests, dry runs); the CLI's file backend keeps the same records in a file.
 */
import {
  anchorRecordVerifies,
  anchorRefOf,
  buildAnchorRecord,
  nextAnchorRecord,
  parseAnchorRef,
} from "./anchor_log.ts";

export interface AnchorBackend {
  /** Records `root` and returns the reference that later proves it was recorded. */
  publish(root: Uint8Array, epoch: number, ts: number, nonce: Uint8Array): Promise<Uint8Array>;
  /** True when `anchorRef` names a record of exactly `root` that is intact in the backend. */
  verify(root: Uint8Array, anchorRef: Uint8Array): Promise<boolean>;
}

/** The anchor log of anchor_log.ts, held in memory. */
export class MemoryAnchorBackend implements AnchorBackend {
  /** The encoded records, in order (exposed so tests can damage them). */
  readonly records: Uint8Array[] = [];
  #lastDigest: Uint8Array | undefined;

  publish(root: Uint8Array, epoch: number, ts: number, nonce: Uint8Array): Promise<Uint8Array> {
    const pos = this.records.length;
    const { bytes, digest } = buildAnchorRecord(
      nextAnchorRecord(pos, this.#lastDigest, { root, epoch, ts, nonce }),
    );
    this.records.push(bytes);
    this.#lastDigest = digest;
    return Promise.resolve(anchorRefOf(pos, digest));
  }

  verify(root: Uint8Array, anchorRef: Uint8Array): Promise<boolean> {
    let pos: number;
    try {
      ({ pos } = parseAnchorRef(anchorRef));
    } catch {
      return Promise.resolve(false);
    }
    return Promise.resolve(
      anchorRecordVerifies(root, anchorRef, this.records[pos], pos > 0 ? this.records[pos - 1] : undefined),
    );
  }
}
