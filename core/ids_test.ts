import assert from "node:assert/strict";
import { toHex, utf8 } from "./bytes.ts";
import { H } from "./hash.ts";
import { adminStreamId, hubIdFor, labelFor, realmIdFor, schemaIdFor, streamIdFor } from "./ids.ts";
import {
  decodeProfile,
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_ID_HEX,
  encodeProfile,
  epochOf,
  profileId,
} from "./profile.ts";
import { throwsCode } from "../tests/util.ts";

Deno.test("streamIdFor(core/main) matches the wire decisions", () => {
  assert.equal(
    toHex(streamIdFor("core/main")),
    "6c2446ba02b134016ab380fec34767e25e106d2c23f1369f33aebe9299c62ef1",
  );
});

Deno.test("streamIdFor takes 64 hex characters as raw bytes", () => {
  const h = "ab".repeat(32);
  assert.equal(toHex(streamIdFor(h)), h);
});

Deno.test("labelFor(core/main) with empty routing key and epoch 0 matches the wire decisions", () => {
  assert.equal(
    toHex(labelFor(streamIdFor("core/main"))),
    "969080810ec928ccd830a6cde893ac5a0e62147d512a11879468d8fd8ba515a5",
  );
  assert.notEqual(
    toHex(labelFor(streamIdFor("core/main"), utf8("rk"))),
    toHex(labelFor(streamIdFor("core/main"))),
  );
  assert.notEqual(
    toHex(labelFor(streamIdFor("core/main"), undefined, 1)),
    toHex(labelFor(streamIdFor("core/main"))),
  );
});

Deno.test("default profile_id matches the wire decisions and round-trips", () => {
  assert.equal(DEFAULT_PROFILE_ID_HEX, "1db91032b4bf4cd8b9f56a782b299458e6f782d3a1276f04c50c7b02651038ca");
  assert.deepEqual(decodeProfile(encodeProfile(DEFAULT_PROFILE)), { ...DEFAULT_PROFILE });
  assert.notEqual(toHex(profileId({ ...DEFAULT_PROFILE, padBlock: 0 })), DEFAULT_PROFILE_ID_HEX);
});

Deno.test("profile rejects other algorithm names with E.PROFILE", () => {
  throwsCode(
    () => encodeProfile({ ...DEFAULT_PROFILE, aead: "aes-gcm" as "xchacha20poly1305" }),
    "E.PROFILE",
  );
});

Deno.test("schema, hub, realm and admin ids follow their formulas", () => {
  assert.equal(toHex(schemaIdFor("x")), toHex(H(utf8("veen/schema:x"))));
  assert.equal(toHex(schemaIdFor("paid.operation.v1")), toHex(H(utf8("veen/schema:paid.operation.v1"))));
  assert.equal(hubIdFor(new Uint8Array(32)).length, 32);
  const realm = realmIdFor("acme");
  assert.notEqual(toHex(adminStreamId("veen/admin", realm)), toHex(adminStreamId("veen/revocation", realm)));
});

Deno.test("epochOf floors by epoch_sec and is 0 when epoch_sec is 0", () => {
  assert.equal(epochOf(119, 60), 1);
  assert.equal(epochOf(120, 60), 2);
  assert.equal(epochOf(1e9, 0), 0);
});

// Vectors asserted by the public Rust implementation's tests (label/tests.rs, hub/tests.rs, hash/tests.rs).
Deno.test("interop vector: label with routing key, stream_id 00..1f and epoch 0x0123456789abcdef", () => {
  const sid = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(
    toHex(labelFor(sid, utf8("routing-key"), 0x0123456789abcdefn)),
    "980504e8eba5bb36d29bacd6eff03edc8ff862d7c8c14656ba93917978a94c5f",
  );
});

Deno.test("interop vector: hub_id of hub_pk 00..1f", () => {
  assert.equal(
    toHex(hubIdFor(Uint8Array.from({ length: 32 }, (_, i) => i))),
    "ea9b65369153415467c6685b12a1b568cd744c37b8ea56a52faa00a9180b5db9",
  );
});

Deno.test("interop vector: Ht(veen/profile, hello world)", async () => {
  const { Ht } = await import("./hash.ts");
  assert.equal(
    toHex(Ht("veen/profile", utf8("hello world"))),
    "01a569ebb69ddd4d66e648a0fbe6247a36b27f1d08e18d08ff7b3bac14869483",
  );
});

Deno.test("interop vector: operation schema ids", () => {
  assert.equal(
    toHex(schemaIdFor("paid.operation.v1")),
    "e7ca17e7da0f5539e02fb89a234c58e8808d84e832a97e7c70d95fa4376469a5",
  );
  assert.equal(
    toHex(schemaIdFor("access.grant.v1")),
    "d069a2baa097837df1e6fc27f07a43ac9b9ed6717ac71f2dd72f977685d7c8c0",
  );
  assert.equal(
    toHex(schemaIdFor("access.revoke.v1")),
    "c2e4253b2ed25212b0c4e6fb192083b6597562f8636502940f1e2e85cae5c380",
  );
});

Deno.test("interop vector: profile_id with pad_block 0", () => {
  assert.equal(
    toHex(profileId({ ...DEFAULT_PROFILE, padBlock: 0 })),
    "d0b01ec0b591c1678c64f2bd6cd9e7d8b3e56f6cd839cb66c0d099299a961281",
  );
});

Deno.test("schemaIdFor() hashes the names with a spec prefix plainly and every other name under veen/schema:", () => {
  for (
    const name of [
      "veen.revocation.v1",
      "id.ctx.profile.v1",
      "wallet.transfer.v1",
      "disc.service.v1",
      "rpc.v1",
      "crdt.lww.v1",
      "record.event.v1",
    ]
  ) {
    assert.equal(toHex(schemaIdFor(name)), toHex(H(utf8(name))), name);
  }
  for (const name of ["access.grant.v1", "veen", "rpcx.v1", "my.app.v1"]) {
    assert.equal(toHex(schemaIdFor(name)), toHex(H(utf8("veen/schema:" + name))), name);
  }
});
