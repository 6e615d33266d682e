/**
 * Damage in a stored file, as a structured error: the file (relative to the data dir) and the offset of the damaged
 * record, so that the hub's refusal, a failed read and `veen hub fsck` name the same place without parsing
 * messages. The rule that tells damage from a crash leftover is hub/log_tail.ts (docs/durability.md "Recovery").
 */
import { VeenError } from "../core/mod.ts";

/**
 * E.UNAVAILABLE naming `file` and `offset`. In recovery (the default) the record may have been acknowledged, so it is
 * refused rather than truncated; in a read it is the one record that cannot be served.
 */
export class StorageDamage extends VeenError {
  readonly file: string;
  readonly offset: number;
  readonly why: string;

  constructor(file: string, offset: number, why: string, during: "recovery" | "read" = "recovery") {
    super(
      "E.UNAVAILABLE",
      during === "read"
        ? `Corrupt record in ${file} at offset ${offset}: ${why}`
        : `Damaged record in ${file} at offset ${offset} (${why}): it may have been acknowledged, so it is not ` +
          `truncated and nothing was changed; run "veen hub fsck" and restore the file from a backup or a replica`,
    );
    this.file = file;
    this.offset = offset;
    this.why = why;
  }
}
