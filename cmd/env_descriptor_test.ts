/** Environment descriptors as data: parsing (usage errors naming the file) and the tenant of a stream. */
import assert from "node:assert/strict";
import { parseEnvDescriptor, tenantOfStream } from "./env_descriptor.ts";
import { CommandError } from "./errors.ts";

const doc = (tenants: unknown) =>
  JSON.stringify({ version: 1, name: "e", cluster_context: "c", namespace: "n", tenants, x: 1 });

Deno.test("parseEnvDescriptor: defaults, unknown keys kept, malformed files are usage errors naming the file", () => {
  const env = parseEnvDescriptor(doc({ a: { stream_prefix: "a/" } }), "f.json");
  assert.deepEqual(env.tenants, { a: { stream_prefix: "a/", label_class: "user" } });
  assert.deepEqual([env.description, env.hubs, env.extra], ["", {}, { x: 1 }]);
  for (const bad of ["{", "[]", doc({ a: {} }), doc({ a: { stream_prefix: "a/", label_class: "vip" } })]) {
    assert.throws(
      () => parseEnvDescriptor(bad, "f.json"),
      (e) => e instanceof CommandError && e.exitCode === 1 && /f\.json/.test(e.detail),
    );
  }
});

Deno.test("tenantOfStream: the tenant whose stream_prefix is the longest prefix of the stream", () => {
  const env = parseEnvDescriptor(
    doc({ a: { stream_prefix: "acme" }, b: { stream_prefix: "acme/pay" }, c: { stream_prefix: "globex/" } }),
    "f.json",
  );
  assert.equal(tenantOfStream(env, "acme/orders"), "a");
  assert.equal(tenantOfStream(env, "acme/payments"), "b");
  assert.equal(tenantOfStream(env, "globex"), undefined);
  assert.equal(tenantOfStream(env, "other"), undefined);
});
