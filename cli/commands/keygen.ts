/**
 * `veen keygen --out DIR` (CLI-GOALS-1 §4.1): a new client directory with keystore.enc (0600, encrypted when a
 * passphrase is given), identity_card.pub (0600) and an empty state.json. Refuses a non-empty directory.
 */
import { toHex } from "../../core/mod.ts";
import { emptyState, writeState } from "../client_state.ts";
import { type Command, nowSec, PASSPHRASE_FLAG } from "../context.ts";
import { usageError } from "../../cmd/mod.ts";
import { ensurePrivateDir } from "../files.ts";
import { identityCardOf, writeIdentityCard } from "../identity_card.ts";
import { generateClientKeys, passphraseFrom, writeKeystore } from "../keystore.ts";

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    if (e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}

export const keygen: Command = {
  path: ["keygen"],
  summary: "create a client identity directory",
  usage: "veen keygen --out DIR [--passphrase-env VAR]",
  flags: [{
    name: "out",
    metavar: "DIR",
    required: true,
    help: "new client directory (must be empty or absent)",
  }, PASSPHRASE_FLAG],
  async run(ctx) {
    const dir = ctx.flags.req("out");
    if (!(await isEmptyOrMissing(dir))) throw usageError(`Refusing to write into non-empty ${dir}`);
    const pass = passphraseFrom(ctx.flags.str("passphrase-env"), ctx.io.env);
    await ensurePrivateDir(dir);
    const keys = generateClientKeys(nowSec(ctx));
    await writeKeystore(dir, keys, pass);
    const card = identityCardOf(keys);
    await writeIdentityCard(dir, card);
    await writeState(dir, emptyState());
    ctx.out.result(
      {
        dir,
        client_id: toHex(card.clientId),
        id_sign_public: toHex(card.idSignPublic),
        id_dh_public: toHex(card.idDhPublic),
        hpke_pk: toHex(card.hpkePk),
        keystore_encrypted: pass !== undefined,
      },
      [
        `client_id: ${toHex(card.clientId)}`,
        `id_sign_public: ${toHex(card.idSignPublic)}`,
        `id_dh_public: ${toHex(card.idDhPublic)}`,
        `hpke_pk: ${toHex(card.hpkePk)}`,
        `keystore: ${pass !== undefined ? "encrypted" : "unencrypted"}`,
        `dir: ${dir}`,
      ],
    );
    return 0;
  },
};
