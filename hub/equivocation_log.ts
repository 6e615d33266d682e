/**
 * Proven equivocation, kept (spec 004 §16 /report_equivocation, I-safety of the log): `DIR/equivocations.cborseq`,
 * one frame per proof around `[label, stream_seq, statement_a, statement_b, reported_at]` (the two signed RECEIPT or
 * CHECKPOINT bytes as reported). Append-only and fdatasync'ed before the report is answered; one proof per
 * (label, stream_seq): a later proof of the same position is not stored again.
 */
import {
  type CborValue,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectUint,
  toHex,
} from "../core/mod.ts";
import { RecordFile } from "./record_file.ts";

export const EQUIVOCATIONS_FILE = "equivocations.cborseq";

export interface StoredEquivocation {
  label: Uint8Array;
  seq: number;
  /** CBOR of the two signed statements (RECEIPT or CHECKPOINT). */
  a: Uint8Array;
  b: Uint8Array;
  /** Hub time (s) when the proof was first stored. */
  reportedAt: number;
}

function encodeRecord(e: StoredEquivocation): Uint8Array {
  return encodeCbor([e.label, e.seq, e.a, e.b, e.reportedAt] as CborValue[]);
}

function decodeRecord(body: Uint8Array): StoredEquivocation {
  const a = expectArray(decodeCbor(body, "equivocation record"), 5, "equivocation record");
  return {
    label: expectBytes(a[0], 32, "equivocation label"),
    seq: expectUint(a[1], "equivocation stream_seq"),
    a: expectBytes(a[2], undefined, "equivocation statement"),
    b: expectBytes(a[3], undefined, "equivocation statement"),
    reportedAt: expectUint(a[4], "equivocation reported_at"),
  };
}

const keyOf = (label: Uint8Array, seq: number) => `${toHex(label)}/${seq}`;

/** The stored proofs: positions in memory, bodies read from the file when listed. */
export class EquivocationLog {
  readonly #locs: [number, number][] = [];
  readonly #keys = new Set<string>();

  private constructor(private readonly file: RecordFile) {}

  /** Opens (creating) the file and indexes its proofs; a torn tail is cut as for the other record files. */
  static async open(dir: string, onRepair?: (what: string) => void): Promise<EquivocationLog> {
    const { file, tail } = await RecordFile.open(`${dir}/${EQUIVOCATIONS_FILE}`, 0, {
      relPath: EQUIVOCATIONS_FILE,
      ...(onRepair ? { onRepair } : {}),
    });
    const log = new EquivocationLog(file);
    for (const r of tail) {
      const e = decodeRecord(r.body);
      log.#keys.add(keyOf(e.label, e.seq));
      log.#locs.push([r.off, r.len]);
    }
    return log;
  }

  /** Proofs stored (distinct positions). */
  get count(): number {
    return this.#locs.length;
  }

  /** Stores `e` durably unless its (label, stream_seq) is already proven; true when it was new. */
  async record(e: StoredEquivocation): Promise<boolean> {
    const k = keyOf(e.label, e.seq);
    if (this.#keys.has(k)) return false;
    return await this.file.writeLock.run(async () => {
      if (this.#keys.has(k)) return false;
      const [loc] = await this.file.append([encodeRecord(e)]);
      this.#keys.add(k);
      this.#locs.push(loc!);
      return true;
    });
  }

  /** Stored proofs from index `from` (0 = oldest), at most `limit`. */
  list(from: number, limit: number): StoredEquivocation[] {
    return this.#locs.slice(from, from + limit).map(([off, len]) => decodeRecord(this.file.read(off, len)));
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
