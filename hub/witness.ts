/**
 * The witness role (spec 002 §3.4, 004 §5 witness_sigs): this hub cosigns another hub's CHECKPOINTs. A CHECKPOINT
 * is cosigned only when its hub_sig verifies under a key in `witness_for` and it extends the last CHECKPOINT this
 * witness cosigned for that (hub key, label): same root at the same upto_seq, or a consistency proof from there
 * (core/consistency.ts); never a smaller upto_seq. The new position is appended to `DIR/witness.cborseq`
 * (`[hub_pk, label, upto_seq, mmr_root]`, fdatasync'ed) before the signature, over the same digest as hub_sig
 * (core witnessSign), is returned.
 */
import {
  bytesEqual,
  type CborValue,
  type Checkpoint,
  type ConsistencyProof,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectUint,
  type SigningKey,
  toHex,
  VeenError,
  verifyCheckpointSig,
  verifyConsistency,
  witnessSign,
} from "../core/mod.ts";
import { RecordFile } from "./record_file.ts";

export const WITNESS_FILE = "witness.cborseq";

/** The last CHECKPOINT position cosigned for one (hub key, label). */
export interface Cosigned {
  uptoSeq: number;
  mmrRoot: Uint8Array;
}

const keyOf = (hubPk: Uint8Array, label: Uint8Array) => `${toHex(hubPk)}/${toHex(label)}`;

export class Witness {
  readonly #last = new Map<string, Cosigned>();

  private constructor(
    private readonly file: RecordFile,
    private readonly key: SigningKey,
    private readonly witnessFor: readonly Uint8Array[],
  ) {}

  /** Opens (creating) `DIR/witness.cborseq` and replays it: the latest record per (hub key, label) holds. */
  static async open(
    dir: string,
    key: SigningKey,
    witnessFor: readonly Uint8Array[],
    onRepair?: (what: string) => void,
  ): Promise<Witness> {
    const { file, tail } = await RecordFile.open(`${dir}/${WITNESS_FILE}`, 0, {
      relPath: WITNESS_FILE,
      ...(onRepair ? { onRepair } : {}),
    });
    const w = new Witness(file, key, witnessFor);
    for (const r of tail) {
      const a = expectArray(decodeCbor(r.body, "witness record"), 4, "witness record");
      w.#last.set(keyOf(expectBytes(a[0], 32, "hub_pk"), expectBytes(a[1], 32, "label")), {
        uptoSeq: expectUint(a[2], "upto_seq"),
        mmrRoot: expectBytes(a[3], 32, "mmr_root"),
      });
    }
    return w;
  }

  get publicKey(): Uint8Array {
    return this.key.public;
  }

  /** True when this hub witnesses some hub. */
  get active(): boolean {
    return this.witnessFor.length > 0;
  }

  last(hubPk: Uint8Array, label: Uint8Array): Cosigned | undefined {
    return this.#last.get(keyOf(hubPk, label));
  }

  /**
   * Cosigns `c` (E.AUTH from a hub this hub does not witness, E.SEQ when it does not extend the last cosigned
   * CHECKPOINT of its label) and returns the witness signature.
   */
  async cosign(c: Checkpoint, proof: ConsistencyProof | null): Promise<Uint8Array> {
    const hubPk = this.witnessFor.find((k) => verifyCheckpointSig(c, k));
    if (hubPk === undefined) {
      throw new VeenError("E.AUTH", "The CHECKPOINT is not signed by a hub this hub witnesses");
    }
    return await this.file.writeLock.run(async () => {
      const k = keyOf(hubPk, c.labelCurr);
      const prev = this.#last.get(k);
      if (prev !== undefined) checkExtends(prev, c, proof);
      if (prev === undefined || prev.uptoSeq !== c.uptoSeq) {
        await this.file.append([encodeCbor([hubPk, c.labelCurr, c.uptoSeq, c.mmrRoot] as CborValue[])]);
        this.#last.set(k, { uptoSeq: c.uptoSeq, mmrRoot: c.mmrRoot });
      }
      return witnessSign(c, this.key.secret);
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function checkExtends(prev: Cosigned, c: Checkpoint, proof: ConsistencyProof | null): void {
  if (c.uptoSeq < prev.uptoSeq) {
    throw new VeenError(
      "E.SEQ",
      `CHECKPOINT upto_seq ${c.uptoSeq} is behind the cosigned upto_seq ${prev.uptoSeq} (rollback)`,
    );
  }
  if (c.uptoSeq === prev.uptoSeq) {
    if (!bytesEqual(c.mmrRoot, prev.mmrRoot)) {
      throw new VeenError("E.SEQ", `CHECKPOINT upto_seq ${c.uptoSeq} has another root than the one cosigned`);
    }
    return;
  }
  if (proof === null || !verifyConsistency(proof, prev.uptoSeq, prev.mmrRoot, c.uptoSeq, c.mmrRoot)) {
    throw new VeenError(
      "E.SEQ",
      `No valid consistency proof from the cosigned upto_seq ${prev.uptoSeq} to ${c.uptoSeq}`,
    );
  }
}
