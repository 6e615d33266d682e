/**
 * Access grants at the capability stage of a real hub (admission on): a grant admits its subject on its streams under
 * the derived auth_ref, refuses others (E.CAP) and non-admin grant authors (E.AUTH), a revoke refuses from its RECEIPT
 * on; fsck checks the grant rows of views.kv against a fold of stream_fed_admin.
 */
import assert from "node:assert/strict";
import { decodeRealmDescriptor, realmIdFor, signingKeyFromSeed, streamIdFor, toHex } from "../core/mod.ts";
import {
  ACCESS_GRANT,
  ACCESS_REVOKE,
  adminStreamsOf,
  type BodyCodec,
  grantAuthRef,
} from "../overlays/mod.ts";
import { adminRecordMsg } from "../tests/federation.ts";
import { errorCode, http, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { withDir } from "../tests/log_util.ts";
import { fsck } from "./fsck.ts";

const ADMIN = signingKeyFromSeed(new Uint8Array(32).fill(41));
const FED = adminStreamsOf(realmIdFor("default"), new Uint8Array(0))[0]!;

Deno.test("access grants: admitted under the derived auth_ref, refused otherwise and after a revoke; fsck checks the rows", async () => {
  await withDir(async (dir) => {
    const hub = await startTestHub(dir, { adminKeys: [toHex(ADMIN.public)], admission: "on" });
    const user = new Writer("granted", 7);
    const other = new Writer("granted", 8);
    const elsewhere = new Writer("elsewhere", 7);
    try {
      const pk = decodeRealmDescriptor((await http(hub.url + "/realm")).body, hub.hubKey.public).adminPk;
      const record = async (seq: number, codec: BodyCodec, body: Uint8Array, key = ADMIN) =>
        await submit(
          hub.url,
          await adminRecordMsg({ key, label: FED.label, seq, recipientPk: pk, schema: codec.schemaId, body }),
        );
      const grant = ACCESS_GRANT.encode({
        subject_identity: user.key.public,
        allowed_stream_ids: [streamIdFor("granted")],
        expiry_time: 4_000_000_000,
      });
      const ref = grantAuthRef(grant);
      assert.equal(errorCode(await submit(hub.url, user.msg({ authRef: ref }))), "E.AUTH"); // no grant yet
      user.seq = 0;
      const notAdmin = await record(1, ACCESS_GRANT, grant, other.key);
      assert.equal(errorCode(notAdmin), "E.AUTH");
      assert.equal((await record(1, ACCESS_GRANT, grant)).status, 200);
      assert.equal((await submit(hub.url, user.msg({ authRef: ref }))).status, 200);
      assert.equal(errorCode(await submit(hub.url, other.msg({ authRef: ref }))), "E.CAP");
      assert.equal(errorCode(await submit(hub.url, elsewhere.msg({ authRef: ref }))), "E.CAP");
      const revoke = ACCESS_REVOKE.encode({
        subject_identity: user.key.public,
        target_capability_reference: ref,
      });
      assert.equal((await record(2, ACCESS_REVOKE, revoke)).status, 200);
      assert.equal(errorCode(await submit(hub.url, user.msg({ authRef: ref }))), "E.AUTH");
    } finally {
      await hub.close();
    }
    const clean = await fsck(dir);
    assert.ok(clean.ok, JSON.stringify(clean.error));
    const kv = await Deno.openKv(`${dir}/views.kv`);
    const key = [
      "row",
      "access_grants",
      toHex(grantAuthRef(ACCESS_GRANT.encode({
        subject_identity: user.key.public,
        allowed_stream_ids: [streamIdFor("granted")],
        expiry_time: 4_000_000_000,
      }))),
    ];
    const row = (await kv.get<Uint8Array>(key)).value;
    assert.ok(row !== null, "the grant row is persisted");
    const changed = row.slice();
    changed[changed.length - 1]! ^= 1; // the revoke's stream_seq
    await kv.set(key, changed);
    kv.close();
    const bad = await fsck(dir);
    assert.match(
      bad.error?.what ?? "",
      /view access_grants row .* differs from the fold of stream fed_admin/,
    );
  });
});
