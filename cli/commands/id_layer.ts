/**
 * `veen id ...` commands of the ID layer (spec 001 ID, L229-738), beside `id show|rotate|usage`:
 * - derive: the identifiers of §3 from a realm and public keys, computed locally (no hub, no secrets).
 */
import { fromHex, realmIdFor, toHex } from "../../core/mod.ts";
import { ctxIdFor, deviceIdFor, orgIdFor, principalIdFor } from "../../overlays/mod.ts";
import type { Command } from "../context.ts";

/** `--realm NAME|HEX32`: 64 hex characters are the realm_id, anything else a realm name (`Ht("id/realm", name)`). */
export function realmIdArg(v: string): Uint8Array {
  return /^[0-9a-fA-F]{64}$/.test(v) ? fromHex(v, 32, "--realm") : realmIdFor(v);
}

export const idDerive: Command = {
  path: ["id", "derive"],
  summary: "derive realm_id, ctx_id, principal_id, device_id and org_id (spec 001 ID §3)",
  usage: "veen id derive --realm NAME|HEX32 --principal-pk HEX32 [--device-pk HEX32] [--org-pk HEX32]",
  flags: [
    { name: "realm", required: true, metavar: "NAME|HEX32", help: "realm name or realm_id" },
    { name: "principal-pk", required: true, metavar: "HEX32", help: "the principal's Ed25519 public key" },
    { name: "device-pk", metavar: "HEX32", help: "a device's Ed25519 public key (prints device_id)" },
    { name: "org-pk", metavar: "HEX32", help: "an organization's Ed25519 public key (prints org_id)" },
  ],
  run(ctx) {
    const f = ctx.flags;
    const realmId = realmIdArg(f.req("realm"));
    const principalPk = fromHex(f.req("principal-pk"), 32, "--principal-pk");
    const out: Record<string, string> = {
      realm_id: toHex(realmId),
      ctx_id: toHex(ctxIdFor(principalPk, realmId)),
      principal_id: toHex(principalIdFor(principalPk)),
    };
    const device = f.str("device-pk");
    if (device !== undefined) out.device_id = toHex(deviceIdFor(fromHex(device, 32, "--device-pk")));
    const org = f.str("org-pk");
    if (org !== undefined) out.org_id = toHex(orgIdFor(fromHex(org, 32, "--org-pk")));
    ctx.out.result(out, Object.entries(out).map(([k, v]) => `${k}: ${v}`));
    return Promise.resolve(0);
  },
};

/** Every ID-layer command, in help order. */
export const ID_LAYER_COMMANDS: readonly Command[] = [idDerive];
