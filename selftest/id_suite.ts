/**
 * `veen selftest id` (spec 001 ID, conformance levels Core, Orgs, Handles, External and Bridge at L709-728; also in
 * `selftest overlays` and `plus`): the identity layer end to end through the CLI against two hubs it starts
 * (id-a with `admin_keys` and `trusted_issuers` holding an admin client, id-b plain). Every read is a verified fold
 * (`stream --with-proof` checks). With `--hub URL` every step is reported as skipped (it needs its own admin key
 * and a second hub). A failing step exits 5 naming it.
 */
import { createHash } from "node:crypto";
import { check, type Harness, type HubHandle, short, StepSkipped } from "./harness.ts";
import { type Client, keygen } from "./core_steps/context.ts";
import { testIssuer } from "./jwt_issuer.ts";

const SUITE = "id";

export const ID_GOAL =
  "ID layer: identifiers against an independent SHA-256, devices ACTIVE through now == expires_at, LWW profiles, " +
  "org groups (OR-set) and roles, LWW handles, a JWT gateway for external links, revoked auth_refs refused by the " +
  "hub, and identity streams bridged to a second hub with equal folded state (spec 001 ID §3-12)";

const REALM = "selftest-realm";
const ISSUER = "https://idp.selftest.invalid";
const AUDIENCE = "veen-selftest";

interface IdCtx {
  a: HubHandle;
  b: HubHandle;
  admin: Client;
  alice: Client;
  /** alice's principal as `id principal --realm` prints it. */
  me: Record<string, unknown>;
  ctxId: string;
  orgId: string;
}

type IdStep = { name: string; goal: string; run(c: IdCtx, ev: string[]): Promise<void> };

/** `Ht(tag, parts)` = SHA-256(tag || 0x00 || parts), computed here with node:crypto, not the CLI's code. */
function ht(tag: string, ...hexParts: string[]): string {
  const h = createHash("sha256").update(tag, "utf8").update(new Uint8Array([0]));
  for (const p of hexParts) h.update(Buffer.from(p, "hex"));
  return h.digest("hex");
}
const utf8Hex = (s: string) => Buffer.from(s, "utf8").toString("hex");

function steps(h: Harness): IdStep[] {
  const hubArgs = (c: IdCtx, hub: HubHandle = c.a) => ["--hub", hub.url, "--client", c.alice.dir];
  const id = (c: IdCtx, ...args: string[]) => h.ok(["id", ...args, ...hubArgs(c)]);
  const status = async (c: IdCtx, hub: HubHandle, now: number) => {
    const j = await h.ok([
      "id",
      "status",
      ...hubArgs(c, hub),
      "--realm",
      REALM,
      "--org-id",
      c.orgId,
      "--handle",
      "@alice",
      "--now",
      String(now),
    ]);
    delete j.fold;
    return j;
  };
  return [
    {
      name: "derive",
      goal:
        "id derive and id principal: realm_id, ctx_id, principal_id, device_id, org_id equal an independent SHA-256",
      async run(c, ev) {
        const pk = c.alice.idSignPublic;
        const d = await h.ok([
          "id",
          "derive",
          "--realm",
          REALM,
          "--principal-pk",
          pk,
          "--device-pk",
          c.alice.clientId,
          "--org-pk",
          c.admin.idSignPublic,
        ]);
        const realm = ht("id/realm", utf8Hex(REALM));
        const want = {
          realm_id: realm,
          ctx_id: ht("id/ctx", pk, realm),
          principal_id: ht("id/principal", pk),
          device_id: ht("id/device", c.alice.clientId),
          org_id: ht("id/org", c.admin.idSignPublic),
        };
        for (const [k, v] of Object.entries(want)) {
          check(d[k] === v, `id derive: ${k} ${short(d[k])}, SHA-256 says ${short(v)}`);
        }
        check(
          c.ctxId === want.ctx_id,
          `id principal: ctx_id ${short(c.ctxId)}, SHA-256 says ${short(want.ctx_id)}`,
        );
        check(
          c.me.stream_id_principal === ht("id/stream/principal", pk),
          `id principal: stream_id_principal ${short(c.me.stream_id_principal)}`,
        );
        ev.push(
          `id derive: realm_id ${short(realm)} ctx_id ${short(want.ctx_id)} org_id ${
            short(want.org_id)
          } (all equal)`,
        );
      },
    },
    {
      name: "devices",
      goal:
        "Core: id principal --publish, device add|disable; a device is ACTIVE at now == expires_at, not one second later",
      async run(c, ev) {
        await id(c, "principal", "--publish");
        const exp = 2_000_000_000;
        await id(c, "device", "add", "--label", "laptop", "--expires-at", String(exp));
        await id(
          c,
          "device",
          "add",
          "--device-pk",
          c.admin.clientId,
          "--dh-pk",
          "07".repeat(32),
          "--label",
          "old",
        );
        await id(c, "device", "disable", "--device-pk", c.admin.clientId);
        const at = async (now: number) => {
          const s = await h.ok(["id", "status", ...hubArgs(c), "--now", String(now)]);
          const ds = s.devices as Record<string, unknown>[];
          return (pk: string) => ds.find((d) => d.device_pk === pk)?.active;
        };
        check(
          (await at(exp))(c.alice.clientId) === true,
          "id status: the laptop is not ACTIVE at now == expires_at",
        );
        check(
          (await at(exp + 1))(c.alice.clientId) === false,
          "id status: the laptop is ACTIVE after expires_at",
        );
        check((await at(exp))(c.admin.clientId) === false, "id status: a disabled device is ACTIVE");
        ev.push(`device laptop: ACTIVE at ${exp}, inactive at ${exp + 1}; disabled device inactive`);
      },
    },
    {
      name: "profile",
      goal: "Core: id profile set|show is LWW by updated_at, not by arrival",
      async run(c, ev) {
        const base = ["--realm", REALM];
        await id(c, "profile", "set", ...base, "--display-name", "Alice", "--updated-at", "200");
        await id(c, "profile", "set", ...base, "--display-name", "Stale", "--updated-at", "100");
        const p = (await id(c, "profile", "show", ...base)).profile as Record<string, unknown> | null;
        check(
          p?.display_name === "Alice",
          `id profile show: display_name ${p?.display_name}, expected Alice`,
        );
        ev.push('profile: updated_at 200 "Alice" wins over a later updated_at 100 "Stale"');
      },
    },
    {
      name: "orgs",
      goal: "Orgs: org create|show, group add|remove|re-add (OR-set), roles additive through groups",
      async run(c, ev) {
        await id(c, "org", "create", "--org-pk", c.admin.idSignPublic, "--display-name", "Acme");
        const g = ["--org-id", c.orgId, "--group", "eds", "--ctx-id", c.ctxId];
        await id(c, "group", "add", ...g);
        await id(c, "group", "remove", ...g);
        let m = (await id(c, "group", "members", "--org-id", c.orgId, "--group", "eds")).members as string[];
        check(m.length === 0, `group members after remove: ${m.length}`);
        await id(c, "group", "add", ...g);
        m = (await id(c, "group", "members", "--org-id", c.orgId, "--group", "eds")).members as string[];
        check(m.includes(c.ctxId), "group members: the re-added ctx_id is missing");
        await id(c, "role", "add", "--org-id", c.orgId, "--role", "editor", "--group", "eds");
        const roles = (await id(c, "role", "list", "--org-id", c.orgId, "--ctx-id", c.ctxId))
          .roles as string[];
        check(
          roles.includes("editor"),
          `role list: ${JSON.stringify(roles)} lacks editor (through the group)`,
        );
        const o = await id(c, "org", "show", "--org-id", c.orgId);
        check(
          (o.profile as Record<string, unknown>)?.display_name === "Acme",
          "org show: display_name is not Acme",
        );
        ev.push(`org ${short(c.orgId)} "Acme": eds re-added ${short(c.ctxId)}, roles ${roles.join(",")}`);
      },
    },
    {
      name: "handles",
      goal: "Handles: id handle set twice and resolve: LWW per (realm, handle) by ts",
      async run(c, ev) {
        const base = ["--realm", REALM, "--handle", "@alice", "--target-type"];
        await id(c, "handle", "set", ...base, "ctx", "--target-id", c.ctxId, "--ts", "20");
        await id(c, "handle", "set", ...base, "org", "--target-id", c.orgId, "--ts", "10");
        const r = await id(c, "handle", "resolve", "--realm", REALM, "--handle", "@alice");
        check(
          r.target_id === c.ctxId,
          `handle resolve @alice: ${r.target_type} ${short(r.target_id)}, expected the ctx`,
        );
        ev.push(`@alice -> ctx ${short(c.ctxId)} (ts 20 beats a later ts 10)`);
      },
    },
    {
      name: "external",
      goal:
        "External: the JWT gateway links a valid token's sub; an expired (exp == now) or foreign token is refused",
      async run(c, ev) {
        const issuer = testIssuer();
        const jwks = `${h.root}/id-jwks.json`;
        await Deno.writeTextFile(jwks, JSON.stringify(issuer.jwks));
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: ISSUER, aud: AUDIENCE, sub: "selftest-sub" };
        const link = (token: string) => [
          "id",
          "external",
          "link",
          ...hubArgs(c),
          "--realm",
          REALM,
          "--provider",
          "selftest-idp",
          "--token",
          token,
          "--jwks",
          jwks,
          "--issuer",
          ISSUER,
          "--audience",
          AUDIENCE,
        ];
        await h.refused(link(issuer.mint("ES256", { ...claims, exp: now - 1 })), "E.TIME");
        await h.refused(link(testIssuer().mint("EdDSA", { ...claims, exp: now + 600 })), "E.SIG");
        await h.ok(link(issuer.mint("EdDSA", { ...claims, exp: now + 600 })));
        const l = (await id(c, "external", "show", "--realm", REALM)).links as Record<string, unknown>[];
        check(
          l.length === 1 && l[0]!.active === true && l[0]!.external_sub === "selftest-sub" &&
            l[0]!.target_id === c.ctxId,
          `external show: ${JSON.stringify(l)}`,
        );
        ev.push("expired token E.TIME, foreign key E.SIG; EdDSA token linked selftest-sub to the ctx");
      },
    },
    {
      name: "revoke",
      goal:
        "id revoke --auth-ref publishes veen.revocation.v1: the hub refuses the revoked auth_ref (E.AUTH)",
      async run(c, ev) {
        const cap = `${h.root}/id-cap.cbor`;
        const stream = h.stream("id/app");
        const issued = await h.ok([
          "cap",
          "issue",
          "--issuer",
          c.admin.dir,
          "--subject",
          `${c.alice.dir}/identity_card.pub`,
          "--stream",
          stream,
          "--ttl",
          "600",
          "--out",
          cap,
        ]);
        const ref = String(issued.auth_ref);
        await h.ok(["cap", "authorize", "--hub", c.a.url, "--cap", cap, "--client", c.alice.dir]);
        const send = ["send", ...hubArgs(c), "--stream", stream, "--body", "{}", "--cap", cap];
        await h.ok(send);
        await id(c, "revoke", "--auth-ref", ref, "--admin", c.admin.dir);
        await h.refused(send, "E.AUTH");
        const s = await h.ok(["id", "status", ...hubArgs(c)]);
        check(
          (s.revoked_auth_refs as string[]).includes(ref),
          "id status: the auth_ref is not listed as revoked",
        );
        ev.push(`auth_ref ${short(ref)}: send ok, revoked, then refused E.AUTH`);
      },
    },
    {
      name: "bridge",
      goal:
        "Bridge: id bridge copies to hub id-b with parent_id = origin; folded state equal on both; a re-run copies nothing",
      async run(c, ev) {
        const args = [
          "id",
          "bridge",
          "--from-hub",
          c.a.url,
          "--to-hub",
          c.b.url,
          "--client",
          c.alice.dir,
          "--realm",
          REALM,
          "--handles",
          "--org-id",
          c.orgId,
        ];
        const first = await h.ok(args);
        check((first.mirrored_count as number) > 0, "id bridge: nothing was copied");
        const now = 2_000_000_000;
        const onA = JSON.stringify(await status(c, c.a, now));
        const onB = JSON.stringify(await status(c, c.b, now));
        check(onA === onB, `id status differs between the hubs:\n  a: ${onA}\n  b: ${onB}`);
        const again = await h.ok(args);
        check(again.mirrored_count === 0, `id bridge re-run copied ${again.mirrored_count} items`);
        ev.push(`id bridge: ${first.mirrored_count} copied, re-run 0; id status equal on id-a and id-b`);
      },
    },
  ];
}

export async function idSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, ID_GOAL);
  let c: IdCtx | undefined;
  const ok = await h.step(
    SUITE,
    "setup",
    "start hub id-a (admin_keys and trusted_issuers: id-admin) and hub id-b; clients id-admin and id-alice",
    async (ev) => {
      if (h.deployed) {
        throw new StepSkipped("needs two hubs and an admin key this run creates; not run with --hub");
      }
      const admin = await keygen(h, "id-admin");
      const alice = await keygen(h, "id-alice");
      const a = await h.startHub(
        "id-a",
        { env: { VEEN_ADMIN_KEYS: admin.clientId, VEEN_TRUSTED_ISSUERS: admin.clientId } },
        "admin_keys and trusted_issuers: id-admin",
      );
      const b = await h.startHub("id-b");
      const me = await h.ok(["id", "principal", "--client", alice.dir, "--realm", REALM]);
      const ctxId = String((me.realms as Record<string, unknown>[])[0]!.ctx_id);
      const orgId = ht("id/org", admin.idSignPublic);
      c = { a, b, admin, alice, me, ctxId, orgId };
      ev.push(`hubs ${a.url} and ${b.url}; alice ctx_id ${short(ctxId)} in ${REALM}`);
    },
    { critical: true },
  );
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
