/**
 * `veen attachment verify --msg MSG.cbor --file F --index I --client DIR` (CLI-GOALS-1 §6.2; `verify-attachment`).
 * Opens the MSG's payload with the client's keys (the coid list travels inside the sealed body), recomputes the
 * coid of attachment I from the file (a plaintext is re-encrypted under k_att_I; a ciphertext is hashed as is),
 * compares it with coid I, and recomputes att_root over all coids against payload_hdr.att_root. Without `--index`
 * the file may be any of the MSG's attachments and the answer names the index that matched. Exit 4 on mismatch.
 */
import {
  attachmentMsgIdForNonce,
  bytesEqual,
  coidOf,
  decodeMsg,
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_ID,
  encryptAttachment,
  toHex,
  VeenError,
  verifyAttachment,
} from "../../core/mod.ts";
import { parseUint, usageError } from "../../cmd/mod.ts";
import { decodeBody } from "../body.ts";
import { CLIENT_FLAG, clientDir, type Command, loadKeys, PASSPHRASE_FLAG } from "../context.ts";
import { openForClient } from "../decrypt.ts";
import { readInputFile } from "../files.ts";
import { decryptionSecrets } from "../keystore.ts";

export const attachmentVerify: Command = {
  path: ["attachment", "verify"],
  aliases: [["verify-attachment"]],
  summary: "verify an attachment file against a MSG's att_root",
  usage: "veen attachment verify --msg MSG.cbor --file FILE [--index I] --client DIR",
  flags: [
    { name: "msg", metavar: "FILE", required: true, help: "CBOR(MSG) carrying the attachment" },
    {
      name: "file",
      metavar: "FILE",
      required: true,
      help: "the attachment (plaintext as sent, or its ciphertext)",
    },
    { name: "index", metavar: "I", help: "0-based attachment index (default: whichever attachment matches)" },
    CLIENT_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const msg = decodeMsg(await readInputFile(ctx.flags.req("msg"), "MSG"));
    const file = await readInputFile(ctx.flags.req("file"), "attachment");
    const indexFlag = ctx.flags.str("index");
    const index = indexFlag === undefined ? undefined : parseUint(indexFlag, "--index");
    if (!bytesEqual(msg.profileId, DEFAULT_PROFILE_ID)) {
      throw usageError("Only MSGs of the default profile can be opened offline");
    }
    const keys = await loadKeys(ctx, clientDir(ctx));
    const opened = await openForClient(msg, DEFAULT_PROFILE, decryptionSecrets(keys));
    if (!opened.ok) throw new VeenError("E.AUTH", `Cannot open the MSG's payload: ${opened.reason}`);
    const root = opened.payload.hdr.attRoot;
    if (root === undefined) {
      throw new VeenError("E.SIZE", "The MSG carries no attachments (no payload_hdr.att_root)");
    }
    const { attachments } = decodeBody(opened.payload.body, true);
    const coids = attachments.map((a) => a.coid);
    if (coids.length === 0) throw new VeenError("E.SIZE", "The MSG's body lists no attachment coids");
    if (index !== undefined && index >= coids.length) {
      throw new VeenError("E.SIZE", `Index ${index} is outside 0..${coids.length - 1}`);
    }
    const key = (i: number) => opened.payload.attachmentKey(i);
    const match = index === undefined
      ? await matchAny(file, coids, key)
      : await asAttachment(file, coids, index, key);
    if (match === undefined) {
      throw new VeenError(
        "E.SIG",
        `The file matches none of the MSG's ${coids.length} attachment coids (as plaintext or ciphertext)`,
      );
    }
    const { i, form, c } = match;
    const want = coids[i]!;
    if (!verifyAttachment(root, coids, i, c)) {
      throw new VeenError(
        "E.SIG",
        bytesEqual(coidOf(c), want)
          ? "The coid list does not hash to payload_hdr.att_root (I5)"
          : `The file's coid ${toHex(coidOf(c))} is not attachment ${i}'s coid ${toHex(want)}`,
      );
    }
    ctx.out.result(
      { valid: true, index: i, coid: toHex(want), att_root: toHex(root), form, name: attachments[i]!.name },
      [
        "attachment: ok",
        `index: ${i}`,
        `coid: ${toHex(want)}`,
        `att_root: ${toHex(root)}`,
        `form: ${form}`,
      ],
    );
    return 0;
  },
};

interface Match {
  i: number;
  form: "plaintext" | "ciphertext";
  /** The attachment's ciphertext, whose coid is compared. */
  c: Uint8Array;
}

/** `file` read as attachment `i`: the ciphertext itself when its coid is coid i, else the plaintext encrypted under k_att_i. */
async function asAttachment(
  file: Uint8Array,
  coids: readonly Uint8Array[],
  i: number,
  key: (i: number) => Promise<Uint8Array>,
): Promise<Match> {
  if (bytesEqual(coidOf(file), coids[i]!)) return { i, form: "ciphertext", c: file };
  return { i, form: "plaintext", c: encryptAttachment(await key(i), attachmentMsgIdForNonce(), i, file) };
}

/** The first attachment index whose coid `file` has (as ciphertext, then as plaintext), or undefined. */
async function matchAny(
  file: Uint8Array,
  coids: readonly Uint8Array[],
  key: (i: number) => Promise<Uint8Array>,
): Promise<Match | undefined> {
  const coid = coidOf(file);
  const i = coids.findIndex((c) => bytesEqual(c, coid));
  if (i >= 0) return { i, form: "ciphertext", c: file };
  for (let i = 0; i < coids.length; i++) {
    const m = await asAttachment(file, coids, i, key);
    if (bytesEqual(coidOf(m.c), coids[i]!)) return m;
  }
  return undefined;
}
