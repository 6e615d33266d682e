/**
 * The spec 000 tenant profile on real hubs: `profile = "tenant"` with `authority_url` makes the authority the
 * tenant's admin source (an authority record published once on the authority reaches the tenant and decides
 * AUTH1 there), and /readyz is 200 only while the authority answers.
 */
import assert from "node:assert/strict";
import { hubIdFor, realmIdFor, streamIdFor, toHex } from "../core/mod.ts";
import { adminStreamsOf } from "../overlays/mod.ts";
import { errorCode, http } from "../tests/fixture.ts";
import { publishAuthority, startRealmHub } from "../tests/federation.ts";
import { AuthorityProbe } from "./authority_probe.ts";
import { Logger } from "./logger.ts";
import { within } from "../tests/util.ts";

Deno.test("profile tenant: authority records reach the tenant, and /readyz follows the authority", async () => {
  const authDir = await Deno.makeTempDir({ prefix: "veen-profile-auth-" });
  const tenantDir = await Deno.makeTempDir({ prefix: "veen-profile-tenant-" });
  const auth = await startRealmHub(authDir, undefined, { profile: "authority" });
  let authUp = true;
  let skew = 0; // the tenant's clock, moved past the probe's 2 s window once the authority is gone
  let pulled!: () => void;
  const replicated = new Promise<void>((r) => pulled = r);
  const logger = new Logger("info", "hub", "tenant", (line) => {
    if (JSON.parse(line).msg === "admin source entries replicated") pulled();
  });
  const tenant = await startRealmHub(
    tenantDir,
    authDir,
    { profile: "tenant", authorityUrl: auth.url, adminSourcePollMs: 5 },
    { logger, now: () => Date.now() + skew },
  );
  try {
    const info = JSON.parse(new TextDecoder().decode((await http(tenant.url + "/info")).body));
    assert.equal(info.role, "tenant");
    assert.equal((await http(tenant.url + "/readyz")).status, 200);
    await publishAuthority(auth, 1, { stream: "fed/chat", primary: auth, replicas: [tenant] });
    await within(replicated, 30_000, "the tenant pulling the authority's admin records");
    const q = `/authority?stream_id=${toHex(streamIdFor("fed/chat"))}`;
    const shown = JSON.parse(new TextDecoder().decode((await http(tenant.url + q)).body));
    assert.equal(shown.primary_hub, toHex(hubIdFor(auth.hubKey.public)));
    const label = toHex(adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[0]!.label);
    assert.deepEqual(
      (await http(`${tenant.url}/stream?label=${label}`)).body,
      (await http(`${auth.url}/stream?label=${label}`)).body,
    );
    await auth.close();
    authUp = false;
    const probe = new AuthorityProbe(auth.url);
    assert.match((await probe.problem())!, /^Authority "http:\/\/127\.0\.0\.1:\d+" is not reachable/);
    skew = 3_000;
    const r = await http(tenant.url + "/readyz");
    assert.equal(r.status, 503);
    assert.equal(errorCode(r), "E.UNAVAILABLE");
    assert.equal(r.headers.get("retry-after"), "2");
  } finally {
    await tenant.close();
    if (authUp) await auth.close();
    await Deno.remove(authDir, { recursive: true });
    await Deno.remove(tenantDir, { recursive: true });
  }
});

Deno.test("AuthorityProbe asks once per window and reports a non-200 answer", async () => {
  let calls = 0;
  let status = 200;
  let t = 0;
  const fake = (() => {
    calls++;
    return Promise.resolve(new Response("x", { status }));
  }) as typeof fetch;
  const p = new AuthorityProbe("http://authority", () => t, fake);
  assert.equal(await p.problem(), undefined);
  status = 503;
  assert.equal(await p.problem(), undefined);
  assert.equal(calls, 1);
  t = 2_000;
  assert.equal(await p.problem(), 'Authority "http://authority" answered /healthz with 503');
  assert.equal(calls, 2);
});
