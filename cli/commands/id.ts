/**
 * `veen id show|rotate|usage` (CLI-GOALS-1 §4.2-4.3, CLI-GOALS-2 §4.2).
 * - show: the public identity (from identity_card.pub, no passphrase needed) and the local state per hub and label;
 * - rotate: a new client_id key and prekey (KEX0.2); the link old → new is kept in state.json only;
 * - usage: per-label send counts of the current client_id, informational (exit 0); with --hub, only that hub's
 *   labels, judged against its KEX1+ bounds (GET /kex-policy) as 002 §4.1 tells a client to: rotate when
 *   `msgs_sent >= max_msgs_per_client_id_per_label` or `now - created_at >= max_client_id_lifetime_sec` (an unset
 *   bound is never exceeded). Without --hub, or from a hub without GET /kex-policy, the bounds are unknown: the
 *   exceeds_* fields are null.
 */
import { toHex, VeenError } from "../../core/mod.ts";
import { readState, withStateLock, writeState } from "../client_state.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  nowSec,
  PASSPHRASE_FLAG,
} from "../context.ts";
import type { KexPolicy } from "../http_client.ts";
import { identityCardOf, readIdentityCard, writeIdentityCard } from "../identity_card.ts";
import { KEYSTORE_FILE, passphraseFrom, readKeystore, rotateClientKeys, writeKeystore } from "../keystore.ts";

async function keystoreEncrypted(dir: string): Promise<boolean> {
  try {
    return (JSON.parse(await Deno.readTextFile(`${dir}/${KEYSTORE_FILE}`)) as { encrypted?: unknown })
      .encrypted === true;
  } catch {
    return false;
  }
}

export const idShow: Command = {
  path: ["id", "show"],
  summary: "show the client identity and local state summary",
  usage: "veen id show --client DIR",
  flags: [CLIENT_FLAG],
  async run(ctx) {
    const dir = clientDir(ctx);
    const card = await readIdentityCard(dir);
    const state = await readState(dir);
    const encrypted = await keystoreEncrypted(dir);
    const lines = [
      `client_id: ${toHex(card.clientId)}`,
      `id_sign_public: ${toHex(card.idSignPublic)}`,
      `id_dh_public: ${toHex(card.idDhPublic)}`,
      `hpke_pk: ${toHex(card.hpkePk)}`,
      `prekey_expires_at: ${card.prekeyExpiresAt}`,
      `keystore: ${encrypted ? "encrypted" : "unencrypted"}`,
    ];
    const hubs = Object.keys(state.hubs).sort().map((hubId) => {
      const h = state.hubs[hubId]!;
      lines.push(`hub ${hubId}: hub_pk ${h.hub_pk} profile_id ${h.profile_id}`);
      const labels = Object.keys(h.labels).sort().map((label) => {
        const l = h.labels[label]!;
        lines.push(
          `  label ${label}: stream ${l.stream} last_stream_seq ${l.last_stream_seq} last_mmr_root ${
            l.last_mmr_root ?? "-"
          } client_seq ${l.client_seq}`,
        );
        return {
          label,
          stream: l.stream,
          last_stream_seq: l.last_stream_seq,
          last_mmr_root: l.last_mmr_root,
          client_seq: l.client_seq,
        };
      });
      return { hub_id: hubId, hub_pk: h.hub_pk, profile_id: h.profile_id, labels };
    });
    ctx.out.result(
      {
        client_id: toHex(card.clientId),
        id_sign_public: toHex(card.idSignPublic),
        id_dh_public: toHex(card.idDhPublic),
        hpke_pk: toHex(card.hpkePk),
        prekey_expires_at: card.prekeyExpiresAt,
        keystore_encrypted: encrypted,
        hubs,
      },
      lines,
    );
    return 0;
  },
};

export const idRotate: Command = {
  path: ["id", "rotate"],
  summary: "rotate client_id and the HPKE prekey (KEX0.2)",
  usage: "veen id rotate --client DIR [--passphrase-env VAR]",
  flags: [CLIENT_FLAG, PASSPHRASE_FLAG],
  async run(ctx) {
    const dir = clientDir(ctx);
    return await withStateLock(dir, async () => {
      const pass = passphraseFrom(ctx.flags.str("passphrase-env"), ctx.io.env);
      const { keys: old, encrypted } = await readKeystore(dir, pass);
      const now = nowSec(ctx);
      const keys = rotateClientKeys(old, now);
      const state = await readState(dir);
      state.rotations.push({
        old_client_id: toHex(old.client.public),
        new_client_id: toHex(keys.client.public),
        at: now,
      });
      await writeKeystore(dir, keys, encrypted ? pass : undefined);
      await writeIdentityCard(dir, identityCardOf(keys));
      await writeState(dir, state);
      const json = {
        old_client_id: toHex(old.client.public),
        client_id: toHex(keys.client.public),
        hpke_pk: toHex(keys.prekey.public),
      };
      ctx.out.fields(json);
      return 0;
    });
  },
};

export const idUsage: Command = {
  path: ["id", "usage"],
  summary: "per-label message counts of the current client_id",
  usage: "veen id usage --client DIR [--hub URL|DIR]",
  flags: [
    CLIENT_FLAG,
    { ...HUB_FLAG, help: "only this hub's labels, judged against its KEX1+ bounds (GET /kex-policy)" },
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const card = await readIdentityCard(dir);
    const state = await readState(dir);
    const me = toHex(card.clientId);
    let onlyHub: string | undefined;
    let policy: KexPolicy | undefined;
    if (ctx.flags.str("hub") !== undefined) {
      const session = await connectFromFlags(ctx, state);
      onlyHub = toHex(session.hubId);
      // A hub without GET /kex-policy (older than KEX1+) leaves the bounds unknown.
      policy = await session.http.kexPolicy().catch((e) => {
        if (e instanceof VeenError && e.code === "E.NOT_FOUND") return undefined;
        throw e;
      });
    }
    const maxMsgs = policy?.max_msgs_per_client_id_per_label ?? null;
    const maxLife = policy?.max_client_id_lifetime_sec ?? null;
    const now = nowSec(ctx);
    const rows: Record<string, unknown>[] = [];
    const lines: string[] = [];
    for (const hubId of Object.keys(state.hubs).sort()) {
      if (onlyHub !== undefined && hubId !== onlyHub) continue;
      const h = state.hubs[hubId]!;
      for (const label of Object.keys(h.labels).sort()) {
        const l = h.labels[label]!;
        const sent = l.client_id === me ? l.client_seq : 0;
        const lifetime = l.client_id === me ? Math.max(0, now - l.client_id_since) : 0;
        const overMsgs = policy === undefined ? null : maxMsgs !== null && sent >= maxMsgs;
        const overLife = policy === undefined ? null : maxLife !== null && lifetime >= maxLife;
        const rotate = overMsgs === true || overLife === true;
        rows.push({
          hub_id: hubId,
          label,
          stream: l.stream || "-",
          client_id: me,
          created_at: l.client_id === me ? l.client_id_since : 0,
          msgs_sent: sent,
          approx_lifetime_sec: lifetime,
          exceeds_msg_bound: overMsgs,
          exceeds_lifetime_bound: overLife,
          rotation_recommended: rotate,
        });
        lines.push(
          `label ${label}: stream ${
            l.stream || "-"
          } client_id ${me} msgs_sent ${sent} approx_lifetime_sec ${lifetime}` +
            ` exceeds_msg_bound ${overMsgs ?? "unknown"} exceeds_lifetime_bound ${overLife ?? "unknown"}` +
            ` rotation_recommended ${rotate}`,
        );
      }
    }
    if (lines.length === 0) lines.push("no labels used yet");
    ctx.out.result({ client_id: me, labels: rows }, lines);
    return 0;
  },
};
