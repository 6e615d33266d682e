/**
 * A tenant hub with `admin_source_poll_ms` pulls its admin labels itself (hub/admin_follower.ts): an authority
 * record published once on the authority hub reaches the tenant, byte-identical and folded (it decides AUTH1 there),
 * with the authority's CHECKPOINT; the follower stops with the hub.
 */
import assert from "node:assert/strict";
import { hubIdFor, realmIdFor, streamIdFor, toHex } from "../core/mod.ts";
import { adminStreamsOf } from "../overlays/mod.ts";
import { http } from "../tests/fixture.ts";
import { publishAuthority, startRealmHub } from "../tests/federation.ts";
import { Logger } from "./logger.ts";

/** A logger whose lines the test can wait for. */
function watchedLogger() {
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const logger = new Logger("info", "hub", "standalone", (line) => {
    const l = JSON.parse(line) as Record<string, unknown>;
    for (const w of waiters.filter((w) => w.pred(l))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const until = (pred: (l: Record<string, unknown>) => boolean) =>
    new Promise<void>((resolve) => waiters.push({ pred, resolve }));
  return { logger, until };
}

Deno.test("a tenant with admin_source_poll_ms pulls the authority's admin records itself and folds them", async () => {
  const authDir = await Deno.makeTempDir({ prefix: "veen-follow-auth-" });
  const tenantDir = await Deno.makeTempDir({ prefix: "veen-follow-tenant-" });
  const auth = await startRealmHub(authDir, undefined, { checkpointEvery: 1 });
  const w = watchedLogger();
  const tenant = await startRealmHub(
    tenantDir,
    authDir,
    { adminSource: auth.url, adminSourcePollMs: 5 },
    { logger: w.logger },
  );
  try {
    const fed = adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[0]!;
    const pulled = w.until((l) => l.msg === "admin source entries replicated" && l.stream === fed.name);
    const checkpointed = w.until((l) => l.msg === "admin source checkpoint stored" && l.stream === fed.name);
    await publishAuthority(auth, 1, { stream: "fed/chat", primary: auth, replicas: [tenant] });
    await pulled;
    const q = `/authority?stream_id=${toHex(streamIdFor("fed/chat"))}`;
    const shown = JSON.parse(new TextDecoder().decode((await http(tenant.url + q)).body));
    assert.equal(shown.primary_hub, toHex(hubIdFor(auth.hubKey.public)));
    assert.equal(shown.local_is_primary, false);
    const label = toHex(fed.label);
    assert.deepEqual(
      (await http(`${tenant.url}/stream?label=${label}`)).body,
      (await http(`${auth.url}/stream?label=${label}`)).body,
    );
    await checkpointed;
    assert.deepEqual(
      (await http(`${tenant.url}/checkpoint_latest?label=${label}`)).body,
      (await http(`${auth.url}/checkpoint_latest?label=${label}`)).body,
    );
    // The record makes the tenant a replica of fed/chat: it lists the label beside its admin labels.
    const list = JSON.parse(new TextDecoder().decode((await http(tenant.url + "/replication")).body));
    assert.ok(
      list.labels.some((l: { stream_id: string; policy: string }) =>
        l.stream_id === toHex(streamIdFor("fed/chat")) && l.policy === "single-primary"
      ),
    );
  } finally {
    await tenant.close();
    await auth.close();
    await Deno.remove(authDir, { recursive: true });
    await Deno.remove(tenantDir, { recursive: true });
  }
});

Deno.test("the follower stops an admin label where the tenant holds a different entry, overwriting nothing", async () => {
  const authDir = await Deno.makeTempDir({ prefix: "veen-follow-auth-" });
  const tenantDir = await Deno.makeTempDir({ prefix: "veen-follow-tenant-" });
  const auth = await startRealmHub(authDir);
  let tenant = await startRealmHub(tenantDir, authDir);
  try {
    // Before it became a tenant, the hub took an admin record of its own.
    await publishAuthority(tenant, 1, { stream: "own", primary: tenant, replicas: [] });
    await publishAuthority(auth, 1, { stream: "fed/chat", primary: auth, replicas: [] });
    const label = toHex(adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[0]!.label);
    const before = (await http(`${tenant.url}/stream?label=${label}`)).body;
    await tenant.close();
    const w = watchedLogger();
    const stopped = w.until((l) =>
      l.msg === "admin label stopped: this hub and its admin source hold different entries"
    );
    const logged = w.until((l) =>
      l.msg === "replication equivocation: a different entry is held at a replicated seq"
    );
    tenant = await startRealmHub(tenantDir, authDir, { adminSource: auth.url, adminSourcePollMs: 5 }, {
      logger: w.logger,
    });
    await Promise.all([stopped, logged]);
    assert.deepEqual((await http(`${tenant.url}/stream?label=${label}`)).body, before);
  } finally {
    await tenant.close();
    await auth.close();
    await Deno.remove(authDir, { recursive: true });
    await Deno.remove(tenantDir, { recursive: true });
  }
});
