/**
 * `veen hub-id --hub H` or `veen hub-id --hub-key HEX32` (or `veen hub-id HEX32`): `Ht("veen/hub-id", hub_pk)`.
 * With --hub, the key comes from GET /info and the hub's own hub_id is checked against it.
 */
import { hubIdFor, toHex } from "../../core/mod.ts";
import { parseHex32, usageError } from "../../cmd/mod.ts";
import { type Command, connectFromFlags, HUB_FLAG, hubGiven } from "../context.ts";

export const hubId: Command = {
  path: ["hub-id"],
  summary: "print a hub's id (from a running hub or a hub public key)",
  usage: "veen hub-id (--hub URL|DIR | --hub-key HEX32 | HEX32)",
  flags: [HUB_FLAG, { name: "hub-key", metavar: "HEX32", help: "hub Ed25519 public key" }],
  positionals: 1,
  async run(ctx) {
    const keyHex = ctx.flags.str("hub-key") ?? ctx.flags.positionals[0];
    let pk: Uint8Array;
    if (keyHex !== undefined) {
      pk = parseHex32(keyHex, "--hub-key");
    } else if (hubGiven(ctx)) {
      pk = (await connectFromFlags(ctx)).hubPk;
    } else {
      throw usageError("Give --hub or --hub-key");
    }
    const id = toHex(hubIdFor(pk));
    ctx.out.result({ hub_id: id, hub_pk: toHex(pk) }, [id]);
    return 0;
  },
};
