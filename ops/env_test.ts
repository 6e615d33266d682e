import assert from "node:assert/strict";
import { captureIo } from "./io.ts";
import { runEnv } from "./env.ts";
import { CommandError } from "../cmd/mod.ts";
import { resolveHubEntryFromEnv, resolveHubFromEnv } from "./mod.ts";

const P1 = "1db91032b4bf4cd8b9f56a782b299458e6f782d3a1276f04c50c7b02651038ca";
const R1 = "aa".repeat(32);

async function env(args: string[]) {
  const io = captureIo();
  const code = await runEnv(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-env-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("env init writes the CLI-GOALS-3 descriptor exactly, creating --root", async () => {
  await withDir(async (dir) => {
    const root = `${dir}/nested/config`;
    const r = await env([
      "init",
      "--root",
      root,
      "--name",
      "demo",
      "--cluster-context",
      "kind-demo",
      "--namespace",
      "veen-tenant-demo",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `created ${root}/demo.env.json\n`);
    assert.equal(
      await Deno.readTextFile(`${root}/demo.env.json`),
      `{
  "version": 1,
  "name": "demo",
  "cluster_context": "kind-demo",
  "namespace": "veen-tenant-demo",
  "description": "",
  "hubs": {},
  "tenants": {}
}
`,
    );
  });
});

Deno.test("env add-hub / add-tenant insert or update, sorted, atomically; show prints a summary and --json verbatim", async () => {
  await withDir(async (dir) => {
    const f = `${dir}/demo.env.json`;
    assert.equal(
      (await env([
        "init",
        "--root",
        dir,
        "--name",
        "demo",
        "--cluster-context",
        "c",
        "--namespace",
        "ns",
        "--description",
        "demo tenant",
      ])).code,
      0,
    );
    let r = await env([
      "add-hub",
      "--env",
      f,
      "--hub-name",
      "secondary",
      "--service-url",
      "http://hub2:8080",
      "--profile-id",
      P1,
      "--realm",
      R1,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `added hub secondary in ${f}\n`);
    r = await env([
      "add-hub",
      "--env",
      f,
      "--hub-name",
      "primary",
      "--service-url",
      "https://hub.demo.internal:8443",
      "--profile-id",
      P1.toUpperCase(),
    ]);
    assert.equal(r.code, 0, r.err);
    r = await env([
      "add-hub",
      "--env",
      f,
      "--hub-name",
      "primary",
      "--service-url",
      "https://hub.demo.internal:8443",
      "--profile-id",
      P1,
      "--json",
    ]);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), {
      ok: true,
      env: f,
      hub_name: "primary",
      status: "updated",
      hub: { service_url: "https://hub.demo.internal:8443", profile_id: P1, realm_id: null },
    });
    r = await env([
      "add-tenant",
      "--env",
      f,
      "--tenant-id",
      "demo",
      "--stream-prefix",
      "core",
      "--label-class",
      "wallet",
    ]);
    assert.equal(r.code, 0, r.err);
    r = await env(["add-tenant", "--env", f, "--tenant-id", "alpha", "--stream-prefix", "logs"]);
    assert.equal(r.code, 0, r.err);

    const text = await Deno.readTextFile(f);
    assert.equal(
      text,
      `{
  "version": 1,
  "name": "demo",
  "cluster_context": "c",
  "namespace": "ns",
  "description": "demo tenant",
  "hubs": {
    "primary": {
      "service_url": "https://hub.demo.internal:8443",
      "profile_id": "${P1}",
      "realm_id": null
    },
    "secondary": {
      "service_url": "http://hub2:8080",
      "profile_id": "${P1}",
      "realm_id": "${R1}"
    }
  },
  "tenants": {
    "alpha": {
      "stream_prefix": "logs",
      "label_class": "user"
    },
    "demo": {
      "stream_prefix": "core",
      "label_class": "wallet"
    }
  }
}
`,
    );
    // no temporary files left behind
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["demo.env.json"]);

    r = await env(["show", "--env", f]);
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      [
        `env: demo (${f})`,
        "cluster_context: c",
        "namespace: ns",
        "description: demo tenant",
        "hubs (2):",
        `  primary  https://hub.demo.internal:8443  profile_id=${P1}  realm_id=-`,
        `  secondary  http://hub2:8080  profile_id=${P1}  realm_id=${R1}`,
        "tenants (2):",
        "  alpha  stream_prefix=logs  label_class=user",
        "  demo  stream_prefix=core  label_class=wallet",
        "",
      ].join("\n"),
    );
    r = await env(["show", "--env", f, "--json"]);
    assert.equal(r.out, text);

    assert.equal(resolveHubFromEnv(f, "primary"), "https://hub.demo.internal:8443");
    assert.deepEqual(resolveHubEntryFromEnv(f, "secondary"), {
      serviceUrl: "http://hub2:8080",
      profileId: P1,
      realmId: R1,
    });
  });
});

Deno.test("env show --json reprints a hand-edited file verbatim; init again keeps hubs and unknown keys", async () => {
  await withDir(async (dir) => {
    const f = `${dir}/x.env.json`;
    const hand =
      `{"version":1,"name":"x","cluster_context":"c","namespace":"n","hubs":{"h":{"service_url":"http://h","profile_id":"${P1}","realm_id":null}},"tenants":{},"caps":{"k":1}}`;
    await Deno.writeTextFile(f, hand);
    const r = await env(["show", "--env", f, "--json"]);
    assert.equal(r.code, 0);
    assert.equal(r.out, hand + "\n");
    const again = await env([
      "init",
      "--root",
      dir,
      "--name",
      "x",
      "--cluster-context",
      "c2",
      "--namespace",
      "n",
    ]);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out, `updated ${f}\n`);
    const doc = JSON.parse(await Deno.readTextFile(f));
    assert.deepEqual(Object.keys(doc), [
      "version",
      "name",
      "cluster_context",
      "namespace",
      "description",
      "hubs",
      "tenants",
      "caps",
    ]);
    assert.equal(doc.cluster_context, "c2");
    assert.equal(doc.hubs.h.service_url, "http://h");
    const third = await env([
      "init",
      "--root",
      dir,
      "--name",
      "x",
      "--cluster-context",
      "c2",
      "--namespace",
      "n",
    ]);
    assert.equal(third.out, `unchanged ${f}\n`);
  });
});

Deno.test("env errors are usage errors (exit 1, E.USAGE), JSON under --json", async () => {
  await withDir(async (dir) => {
    const f = `${dir}/e.env.json`;
    assert.equal(
      (await env(["init", "--root", dir, "--name", "e", "--cluster-context", "c", "--namespace", "n"])).code,
      0,
    );
    const cases: [string[], RegExp][] = [
      [["init", "--root", dir, "--name", "e"], /Missing required flag --cluster-context/],
      [
        ["init", "--root", dir, "--name", "e", "--cluster-context", "", "--namespace", "n"],
        /Missing required flag --cluster-context/,
      ],
      [
        ["init", "--root", dir, "--name", "../evil", "--cluster-context", "c", "--namespace", "n"],
        /--name must be/,
      ],
      [
        ["add-hub", "--env", f, "--hub-name", "h", "--service-url", "ftp://x", "--profile-id", P1],
        /--service-url/,
      ],
      [
        ["add-hub", "--env", f, "--hub-name", "h", "--service-url", "http://x", "--profile-id", "abc"],
        /--profile-id must be 64 hex/,
      ],
      [[
        "add-hub",
        "--env",
        f,
        "--hub-name",
        "h",
        "--service-url",
        "http://x",
        "--profile-id",
        P1,
        "--realm",
        "zz",
      ], /--realm/],
      [
        ["add-tenant", "--env", f, "--tenant-id", "t", "--stream-prefix", "p", "--label-class", "vip"],
        /--label-class must be one of/,
      ],
      [["show", "--env", `${dir}/missing.env.json`], /Cannot read environment file/],
      [["show", "--env", f, "--bogus"], /Unknown flag --bogus/],
    ];
    for (const [args, re] of cases) {
      const r = await env(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.err, /^E\.USAGE: /);
      assert.match(r.err, re);
    }
    await Deno.writeTextFile(`${dir}/bad.env.json`, "{not json");
    const bad = await env(["show", "--env", `${dir}/bad.env.json`, "--json"]);
    assert.equal(bad.code, 1);
    const j = JSON.parse(bad.out);
    assert.equal(j.ok, false);
    assert.equal(j.code, "E.USAGE");
    assert.match(j.detail, /not valid JSON/);
    assert.equal((await env(["nope"])).code, 1);
    assert.equal((await env([])).code, 1);
    assert.equal((await env(["--help"])).code, 0);
    assert.equal((await env(["add-hub", "--help"])).code, 0);
  });
});

Deno.test("resolveHubFromEnv names the known hubs when the name is wrong", async () => {
  await withDir(async (dir) => {
    const f = `${dir}/r.env.json`;
    await env(["init", "--root", dir, "--name", "r", "--cluster-context", "c", "--namespace", "n"]);
    await env(["add-hub", "--env", f, "--hub-name", "a", "--service-url", "http://a", "--profile-id", P1]);
    await env(["add-hub", "--env", f, "--hub-name", "b", "--service-url", "http://b", "--profile-id", P1]);
    assert.throws(() => resolveHubFromEnv(f, "c"), (e: unknown) => {
      assert.ok(e instanceof CommandError);
      assert.equal(e.code, "E.USAGE");
      assert.equal(e.exitCode, 1);
      assert.match(e.detail, /No hub named "c" .* \(known: a, b\)/);
      return true;
    });
    assert.throws(() => resolveHubFromEnv(`${dir}/none.json`, "a"), CommandError);
  });
});
