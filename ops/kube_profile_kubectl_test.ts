/**
 * The spec 000 profile driven through a recording fake kubectl (ops/testdata/fake_kubectl.ts; no cluster here):
 * bridge workloads are applied and waited for like hubs and a second apply of the same bridge creates nothing;
 * deleting one tenant leaves another tenant's objects untouched; `kube rotate-key` creates `veen-hub-keys-next`
 * once, patches the workload to mount it with the hub's rotation window, and is idempotent.
 */
import assert from "node:assert/strict";
import { decodeCbor, signingKeyFromSeed, toHex } from "../core/mod.ts";
import { type Cluster, withCluster as withFakeCluster } from "./testdata/fake_cluster.ts";

const withCluster = (fn: (c: Cluster) => Promise<void>) =>
  withFakeCluster({ namespaces: ["default", "veen-system"] }, fn);

async function renderApply(c: Cluster, file: string, args: string[]): Promise<string> {
  const r = await c.run(["render", "--image", "veen:1", ...args]);
  assert.equal(r.code, 0, r.err);
  await Deno.writeTextFile(`${c.dir}/${file}`, r.out);
  const a = await c.run([
    "apply",
    "--cluster-context",
    "ctx",
    "--file",
    `${c.dir}/${file}`,
    "--wait-seconds",
    "30",
  ]);
  assert.equal(a.code, 0, a.err);
  return a.out;
}

const keysIn = (state: { objects: Record<string, unknown> }, ns: string) =>
  Object.keys(state.objects).filter((k) => k.startsWith(`${ns}/`)).sort();

Deno.test("bridges are applied and waited for like hubs; the same bridge applied twice creates nothing new", async () => {
  await withCluster(async (c) => {
    await renderApply(c, "t1.yaml", ["--profile", "tenant", "--tenant-id", "t1", "--admin-bridge"]);
    const args = [
      "--from",
      "http://veen-hub.veen-tenant-t2.svc.cluster.local:8080",
      "--to",
      "http://veen-hub:8080",
    ];
    const bridge = ["--bridge", "orders", "--tenant-id", "t1", ...args, "--stream", "orders/eu"];
    const first = await renderApply(c, "b.yaml", bridge);
    assert.match(first, /^configmap\/veen-bridge-orders-config created$/m);
    assert.match(first, /^deployment\.apps\/veen-bridge-orders created$/m);
    assert.match(first, /^ready: deployment\/veen-bridge-orders 1\/1$/m);
    const objects = keysIn(c.state(), "veen-tenant-t1");
    const second = await renderApply(c, "b.yaml", bridge);
    assert.match(second, /^deployment\.apps\/veen-bridge-orders unchanged$/m);
    assert.doesNotMatch(second, / created$/m);
    assert.deepEqual(keysIn(c.state(), "veen-tenant-t1"), objects);
    const dep = c.state().objects["veen-tenant-t1/Deployment/veen-bridge-orders"];
    assert.deepEqual(dep.spec.template.spec.containers[0].args, [
      "bridge",
      ...args,
      "--stream",
      "orders/eu",
      "--follow",
    ]);
    assert.equal(dep.spec.template.metadata.labels["veen.io/role"], "bridge");
    assert.equal(dep.spec.template.metadata.labels["veen.io/tenant-id"], "t1");
    // The tenant's admin bridge: authority → tenant, replicating; the tenant hub then does not poll itself.
    const admin = c.state().objects["veen-tenant-t1/Deployment/veen-bridge-admin"];
    assert.deepEqual(admin.spec.template.spec.containers[0].args, [
      "bridge",
      "--from",
      "http://veen-authority.veen-system.svc.cluster.local:8080",
      "--to",
      "http://veen-hub:8080",
      "--replicate",
      "--follow",
    ]);
    const cfg = c.state().objects["veen-tenant-t1/ConfigMap/veen-hub-config"].data["hub.yaml"];
    assert.doesNotMatch(cfg, /admin_source_poll_ms/);
    const delBridge = ["delete", "--cluster-context", "ctx", "--bridge", "orders", "--tenant-id", "t1"];
    const del = await c.run(delBridge);
    assert.equal(del.code, 0, del.err);
    assert.equal(c.state().objects["veen-tenant-t1/Deployment/veen-bridge-orders"], undefined);
    assert.notEqual(c.state().objects["veen-tenant-t1/Deployment/veen-bridge-admin"], undefined);
    const again = await c.run(delBridge);
    assert.equal(again.out, "already deleted: veen-bridge-orders in veen-tenant-t1\n");
  });
});

Deno.test("deleting one tenant leaves the other tenants and the authority untouched", async () => {
  await withCluster(async (c) => {
    await renderApply(c, "auth.yaml", ["--profile", "authority"]);
    await renderApply(c, "a.yaml", ["--profile", "tenant", "--tenant-id", "a", "--admin-bridge"]);
    await renderApply(c, "b.yaml", ["--profile", "tenant", "--tenant-id", "b", "--admin-bridge"]);
    const before = c.state().objects;
    const del = await c.run("delete --cluster-context ctx --profile tenant --tenant-id a".split(" "));
    assert.equal(del.code, 0, del.err);
    const after = c.state().objects;
    for (const k of Object.keys(before).filter((k) => !k.startsWith("veen-tenant-a/"))) {
      assert.deepEqual(after[k], before[k], `${k} untouched`);
    }
    // Tenant a keeps only its Secret template (keys are never deleted by veen kube delete).
    assert.deepEqual(keysIn(c.state(), "veen-tenant-a"), ["veen-tenant-a/Secret/veen-hub-keys"]);
    for (const call of c.calls().filter((a) => a.includes("delete"))) {
      assert.equal(call[call.indexOf("--namespace") + 1], "veen-tenant-a", call.join(" "));
    }
  });
});

Deno.test("kube rotate-key: veen-hub-keys-next once, the workload mounts it with the rotation window, idempotent", async () => {
  await withCluster(async (c) => {
    await renderApply(c, "t.yaml", ["--profile", "tenant", "--tenant-id", "t1"]);
    const args = ["rotate-key", "--cluster-context", "ctx", "--profile", "tenant", "--tenant-id", "t1"];
    const r = await c.run([...args, "--window-sec", "600", "--wait-seconds", "30", "--json"]);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.equal(out.secret, "veen-hub-keys-next");
    assert.equal(out.secret_state, "created");
    assert.equal(out.previous_secret, "veen-hub-keys");
    const secret = c.state().objects["veen-tenant-t1/Secret/veen-hub-keys-next"];
    const m = decodeCbor(Uint8Array.from(atob(secret.data.hub_key), (ch) => ch.charCodeAt(0))) as Map<
      number,
      Uint8Array
    >;
    assert.equal(toHex(signingKeyFromSeed(m.get(2)!).public), out.hub_pk, "a real hub_key file");
    const pod = c.state().objects["veen-tenant-t1/Deployment/veen-hub"].spec.template.spec;
    assert.equal(pod.volumes[0].projected.sources[1].secret.name, "veen-hub-keys-next");
    for (const ct of [pod.containers[0], pod.initContainers[0]]) {
      assert.ok(
        ct.env.some((e: { name: string; value: string }) =>
          e.name === "VEEN_ROTATION_WINDOW_SEC" && e.value === "600"
        ),
        `${ct.name} has the rotation window`,
      );
    }
    assert.match(
      pod.initContainers[0].command[2],
      /veen hub rotate-key --data-dir \/var\/lib\/veen --key-file/,
    );
    const again = await c.run([...args, "--window-sec", "600", "--json"]);
    const o2 = JSON.parse(again.out);
    assert.deepEqual([o2.secret_state, o2.patched, o2.hub_pk], ["reused", false, out.hub_pk]);
    assert.equal(c.calls().filter((a) => a.includes("create")).length, 1, "one Secret created");
  });
});
