/**
 * `veen selftest kex1` (CLI-GOALS-2 §8.2, KEX1+ 002 §4): key and capability lifecycle against a hub the suite
 * starts with tight bounds (max_msgs_per_client_id_per_label 3, max_cap_ttl_sec 3600) and an admin key: sends up to
 * the bound pass and one more is refused; a cap beyond max_cap_ttl_sec is refused; a short cap expires; client-id
 * and auth-ref revocations published with `veen cap revoke` stop the next send and survive a restart. Each step
 * drives the real CLI; a failing step exits 5 naming it.
 */
import { fail, type Harness, type HubHandle, short } from "./harness.ts";
import {
  capIssueArgs,
  type Client,
  keygen,
  needOwnHub,
  num,
  sendArgs,
  str,
  untilSecond,
} from "./core_steps/context.ts";

const SUITE = "kex1";
export const KEX1_GOAL =
  "client key bounds (count per label), cap ttl bound and expiry, client-id and auth-ref revocations enforced at " +
  "once and after a restart (CLI-GOALS-2 §8.2)";

const MAX_MSGS = 3;
const MAX_CAP_TTL = 3600;

interface Kex1Ctx {
  h: Harness;
  hub: HubHandle;
  env: Record<string, string>;
  admin: Client;
  alice: Client;
  bob: Client;
  carol: Client;
  files: string;
  /** bob's and carol's caps (authorized), for the restart step. */
  caps: Record<string, string>;
}

interface Kex1Step {
  name: string;
  goal: string;
  critical?: boolean;
  run(c: Kex1Ctx, ev: string[]): Promise<void>;
}

/** Issues (as admin) and authorizes a cap for `who` on `stream`; returns its file and auth_ref. */
async function authorizedCap(
  c: Kex1Ctx,
  who: Client,
  stream: string,
  ttl: string,
): Promise<[string, string]> {
  const file = `${c.files}/${who.name}-${stream.replaceAll("/", "_")}-${ttl}.cbor`;
  await c.h.ok([...capIssueArgs(c.admin.dir, who.clientId, stream, ttl), "--out", file]);
  const a = await c.h.ok(["cap", "authorize", "--hub", c.hub.url, "--cap", file]);
  return [file, str(a.auth_ref, "auth_ref")];
}

const send = (
  c: Kex1Ctx,
  who: Client,
  stream: string,
  cap: string,
) => [...sendArgs(c.hub.url, who.dir, stream), "--cap", cap, "--body", "{}"];

const revoke = (c: Kex1Ctx, kind: string, target: string, reason: string) =>
  c.h.ok([
    "cap",
    "revoke",
    "--hub",
    c.hub.url,
    "--admin",
    c.admin.dir,
    "--kind",
    kind,
    "--target",
    target,
    "--reason",
    reason,
  ]);

const STEPS: readonly Kex1Step[] = [
  {
    name: "kex-policy",
    goal: "hub kex-policy reports the configured bounds",
    async run(c, ev) {
      const p = await c.h.ok(["hub", "kex-policy", "--hub", c.hub.url]);
      ev.push(`veen hub kex-policy: ${JSON.stringify(p)}`);
      if (p.max_msgs_per_client_id_per_label !== MAX_MSGS) {
        fail(`max_msgs_per_client_id_per_label is not ${MAX_MSGS}`);
      }
      if (p.max_cap_ttl_sec !== MAX_CAP_TTL) fail(`max_cap_ttl_sec is not ${MAX_CAP_TTL}`);
    },
  },
  {
    name: "msg-bound",
    goal: `${MAX_MSGS} sends per (label, client_id) pass, the next is E.AUTH "rotate client key"`,
    async run(c, ev) {
      const [cap] = await authorizedCap(c, c.alice, "kex1/bound", "600");
      for (let i = 1; i <= MAX_MSGS; i++) {
        const r = await c.h.ok(send(c, c.alice, "kex1/bound", cap));
        ev.push(`send ${i}: stream_seq ${r.stream_seq}`);
      }
      const r = await c.h.refused(send(c, c.alice, "kex1/bound", cap), "E.AUTH");
      ev.push(`send ${MAX_MSGS + 1}: ${r.code} (${r.detail})`);
      if (!/rotate client key/.test(String(r.detail))) {
        fail(`detail does not say "rotate client key": ${r.detail}`);
      }
    },
  },
  {
    name: "cap-ttl-bound",
    goal: `a cap with ttl beyond max_cap_ttl_sec (${MAX_CAP_TTL}) is refused by /authorize (E.CAP)`,
    async run(c, ev) {
      const file = `${c.files}/long.cbor`;
      await c.h.ok([
        ...capIssueArgs(c.admin.dir, c.alice.clientId, "kex1/long", String(MAX_CAP_TTL + 1)),
        "--out",
        file,
      ]);
      const r = await c.h.refused(["cap", "authorize", "--hub", c.hub.url, "--cap", file], "E.CAP");
      ev.push(`ttl ${MAX_CAP_TTL + 1}: ${r.code} (${r.detail})`);
    },
  },
  {
    name: "cap-expiry",
    goal: "a cap with ttl 1 is E.CAP once its expiry second has passed",
    async run(c, ev) {
      const file = `${c.files}/short.cbor`;
      await c.h.ok([...capIssueArgs(c.admin.dir, c.alice.clientId, "kex1/short", "1"), "--out", file]);
      const a = await c.h.ok(["cap", "authorize", "--hub", c.hub.url, "--cap", file]);
      const exp = num(a.expires_at, "expires_at");
      await untilSecond(exp + 1);
      const r = await c.h.refused(send(c, c.alice, "kex1/short", file), "E.CAP");
      ev.push(`expires_at ${exp}; send at ${Math.floor(Date.now() / 1000)}: ${r.code} (${r.detail})`);
    },
  },
  {
    name: "revoke-client-id",
    goal: "cap revoke --kind client-id stops the client's next send (E.AUTH); cap revocations lists it",
    async run(c, ev) {
      const [cap] = await authorizedCap(c, c.bob, "kex1/rev", "600");
      c.caps.bob = cap;
      await c.h.ok(send(c, c.bob, "kex1/rev", cap));
      const rv = await revoke(c, "client-id", c.bob.clientId, "selftest");
      ev.push(
        `veen cap revoke client-id ${
          short(c.bob.clientId)
        }: stream_seq ${rv.stream_seq}, active ${rv.active_now}`,
      );
      const r = await c.h.refused(send(c, c.bob, "kex1/rev", cap), "E.AUTH");
      ev.push(`bob's next send: ${r.code} (${r.detail})`);
      const l = await c.h.ok(["cap", "revocations", "--hub", c.hub.url, "--active-only"]);
      const list = l.revocations as Record<string, unknown>[];
      if (!list.some((x) => x.kind === "client-id" && x.target === c.bob.clientId)) {
        fail(`cap revocations --active-only does not list bob: ${JSON.stringify(list)}`);
      }
    },
  },
  {
    name: "revoke-auth-ref",
    goal: "cap revoke --kind auth-ref stops sends with that capability; cap status reports it revoked",
    async run(c, ev) {
      const [cap, ref] = await authorizedCap(c, c.carol, "kex1/rev", "600");
      c.caps.carol = cap;
      await c.h.ok(send(c, c.carol, "kex1/rev", cap));
      await revoke(c, "auth-ref", ref, "selftest");
      const r = await c.h.refused(send(c, c.carol, "kex1/rev", cap), "E.AUTH");
      ev.push(`carol's next send: ${r.code} (${r.detail})`);
      const st = await c.h.ok(["cap", "status", "--hub", c.hub.url, "--cap", cap]);
      ev.push(`veen cap status: revoked ${st.revoked}, kind ${st.revocation_kind}`);
      if (st.revoked !== true || st.revocation_kind !== "auth-ref") {
        fail("cap status does not report the revocation");
      }
    },
  },
  {
    name: "restart",
    goal: "after a hub restart both revocations still hold",
    async run(c, ev) {
      ev.push(await c.h.stopHub(c.hub));
      c.hub = await c.h.startHub("kex1", {
        admission: "on",
        trustedIssuers: [c.admin.idSignPublic],
        env: c.env,
      });
      ev.push(`veen hub start (same data dir): ${c.hub.url}`);
      for (const [who, client] of [["bob", c.bob], ["carol", c.carol]] as const) {
        const r = await c.h.refused(send(c, client, "kex1/rev", c.caps[who]!), "E.AUTH");
        ev.push(`${who} after restart: ${r.code} (${r.detail})`);
      }
    },
  },
];

export async function kex1Suite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, KEX1_GOAL);
  let c: Kex1Ctx | undefined;
  await h.step(
    SUITE,
    "setup",
    "start a hub with KEX1+ bounds and an admin key; create clients",
    async (ev) => {
      needOwnHub(h, "starts a hub with KEX1+ bounds and admin keys");
      const admin = await keygen(h, "kex1-admin");
      const env = {
        VEEN_ADMIN_KEYS: admin.clientId,
        VEEN_MAX_MSGS_PER_CLIENT_ID_PER_LABEL: String(MAX_MSGS),
        VEEN_MAX_CAP_TTL_SEC: String(MAX_CAP_TTL),
      };
      const hub = await h.startHub(
        "kex1",
        { admission: "on", trustedIssuers: [admin.idSignPublic], env },
        `admission on, admin key, max_msgs_per_client_id_per_label ${MAX_MSGS}, max_cap_ttl_sec ${MAX_CAP_TTL}`,
      );
      ev.push(`veen hub start: ${hub.url}`);
      c = {
        h,
        hub,
        env,
        admin,
        alice: await keygen(h, "kex1-alice"),
        bob: await keygen(h, "kex1-bob"),
        carol: await keygen(h, "kex1-carol"),
        files: `${h.root}/files`,
        caps: {},
      };
      await Deno.mkdir(c.files, { recursive: true });
    },
    { critical: true },
  );
  for (const s of STEPS) {
    await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev), { critical: s.critical === true });
  }
}
