/**
 * `veen attachment verify --msg MSG.cbor --file F --index I --client DIR` (CLI-GOALS-1 §6.2; `verify-attachment`).
 * Opens the MSG's payload with the client's keys (the coid list travels inside the sealed body), recomputes the
 * coid of attachment I from the file (a plaintext is re-encrypted under k_att_I; a ciphertext is hashed as is),
 * compares it with coid I, and recomputes att_root over all coids against payload_hdr.att_root. Exit 4 on mismatch.
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
    { name: "index", metavar: "I", help: "0-based attachment index (default 0)" },
    CLIENT_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const msg = decodeMsg(await readInputFile(ctx.flags.req("msg"), "MSG"));
    const file = await readInputFile(ctx.flags.req("file"), "attachment");
    const index = parseUint(ctx.flags.str("index") ?? "0", "--index");
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
    if (index >= coids.length) {
      throw new VeenError("E.SIZE", `Index ${index} is outside 0..${coids.length - 1}`);
    }
    const want = coids[index]!;
    let form: "plaintext" | "ciphertext";
    let c: Uint8Array;
    if (bytesEqual(coidOf(file), want)) {
      form = "ciphertext";
      c = file;
    } else {
      form = "plaintext";
      c = encryptAttachment(
        await opened.payload.attachmentKey(index),
        attachmentMsgIdForNonce(),
        index,
        file,
      );
    }
    if (!verifyAttachment(root, coids, index, c)) {
      throw new VeenError(
        "E.SIG",
        bytesEqual(coidOf(c), want)
          ? "The coid list does not hash to payload_hdr.att_root (I5)"
          : `The file's coid ${toHex(coidOf(c))} is not attachment ${index}'s coid ${toHex(want)}`,
      );
    }
    ctx.out.result(
      { valid: true, index, coid: toHex(want), att_root: toHex(root), form, name: attachments[index]!.name },
      [
        "attachment: ok",
        `index: ${index}`,
        `coid: ${toHex(want)}`,
        `att_root: ${toHex(root)}`,
        `form: ${form}`,
      ],
    );
    return 0;
  },
};
