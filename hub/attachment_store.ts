/**
 * Content-addressed attachment ciphertexts: `attachments/<first 2 hex of coid>/<coid hex>`, where `coid = H(bytes)`
 * (spec 004 §6). A put writes a temporary file in `attachments/tmp/`, fdatasyncs it, renames it into place and
 * fsyncs the directory, so a file under its final name is always complete; open empties `tmp/` (what an
 * interrupted upload left), which costs O(interrupted uploads), never a listing of the attachments. Putting an
 * existing coid is a no-op.
 * Which attachments are kept, and for how long, is decided by hub/attachment_ledger.ts.
 */
import { bytesEqual, H, toHex, VeenError } from "../core/mod.ts";
import { dirEntries, mkdir700, syncDir, writeFileAtomic } from "./files.ts";

/** Where puts write before the rename: `attachments/tmp/`, emptied at open. */
export const TMP_DIR = "tmp";

/** Default largest attachment accepted (matches no particular profile; the hub passes its configured limit). */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024;

export class AttachmentStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #madeDirs = new Set<string>();

  private constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** Opens (creating, mode 0700) the attachment directory and removes the temporary files of interrupted puts. */
  static async open(dir: string, opts: { maxBytes?: number } = {}): Promise<AttachmentStore> {
    await mkdir700(`${dir}/${TMP_DIR}`);
    for (const e of await dirEntries(`${dir}/${TMP_DIR}`)) await Deno.remove(`${dir}/${TMP_DIR}/${e.name}`);
    return new AttachmentStore(dir, opts.maxBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES);
  }

  #where(coid: Uint8Array): { sub: string; path: string; hex: string } {
    if (!(coid instanceof Uint8Array) || coid.length !== 32) {
      throw new VeenError("E.SIZE", "An attachment coid must be 32 bytes");
    }
    const hex = toHex(coid);
    const sub = `${this.dir}/${hex.slice(0, 2)}`;
    return { sub, path: `${sub}/${hex}`, hex };
  }

  /** Stores `bytes` durably and returns their coid = H(bytes). E.SIZE when larger than `maxBytes`. */
  async put(bytes: Uint8Array): Promise<Uint8Array> {
    if (bytes.length > this.maxBytes) {
      throw new VeenError(
        "E.SIZE",
        `Attachment of ${bytes.length} bytes exceeds the limit of ${this.maxBytes}`,
      );
    }
    const coid = H(bytes);
    const { sub, path, hex } = this.#where(coid);
    try {
      await Deno.lstat(path);
      return coid;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (!this.#madeDirs.has(sub)) {
      await mkdir700(sub);
      await syncDir(this.dir);
      this.#madeDirs.add(sub);
    }
    await writeFileAtomic(sub, hex, bytes, `${this.dir}/${TMP_DIR}`);
    return coid;
  }

  /** The attachment stored under `coid`, or undefined. E.UNAVAILABLE if the stored bytes no longer hash to it. */
  async get(coid: Uint8Array): Promise<Uint8Array | undefined> {
    const { path, hex } = this.#where(coid);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    if (!bytesEqual(H(bytes), coid)) {
      throw new VeenError("E.UNAVAILABLE", `Stored attachment ${hex} is corrupt`);
    }
    return bytes;
  }

  /** Deletes the attachment stored under `coid` (no error when absent). */
  async remove(coid: Uint8Array): Promise<void> {
    const { sub, path } = this.#where(coid);
    try {
      await Deno.remove(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      return;
    }
    await syncDir(sub); // the unlink is durable before the caller forgets the attachment
  }

  /** True when `coid` is stored. */
  async has(coid: Uint8Array): Promise<boolean> {
    try {
      await Deno.lstat(this.#where(coid).path);
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }
}
