/**
 * `veen kube rotate-key` (spec 000 §11.4): rotates a deployed hub's key without losing it.
 *
 * 1. The Secret `<keys>-next` (`veen-hub-keys-next` for a tenant) holds the new `hub_key`: generated here (or taken
 *    from --key-file) when the Secret does not exist yet, reused when it does, so a second run changes nothing.
 * 2. The workload is patched to mount `<keys>-next` instead of its keys Secret and, with --window-sec, to set
 *    `VEEN_ROTATION_WINDOW_SEC` (the hub's `rotation_window_sec`, published by GET /kex-policy) on the hub and on its
 *    hub-key init container.
 * 3. The new pod's init container sees a `hub_key` that differs from the data volume's and runs `veen hub
 *    rotate-key --key-file` (KEX0.1: the old key is kept and cosigns CHECKPOINTs for the window), then the hub starts
 *    with the new key. With --wait-seconds the command waits until the workload is ready again.
 */
import { type CborValue, decodeCbor, encodeCbor, EXIT, signingKeyFromSeed, toHex } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { check, malformed, type Mode, type OpsIo, result, usage } from "../io.ts";
import { Kubectl, kubectlError } from "../kubectl.ts";
import { addressNames, readWorkload } from "./cluster.ts";

/** The public key of `hub_key` bytes (CBOR {1: 1, 2: seed, 3: public}), checked against the seed. */
function hubKeyPublic(bytes: Uint8Array, what: string): Uint8Array {
  let m: CborValue;
  try {
    m = decodeCbor(bytes, what);
  } catch (e) {
    throw usage(`${what} is not a hub_key file: ${(e as Error).message}`);
  }
  const seed = m instanceof Map ? m.get(2) : undefined;
  const pub = m instanceof Map ? m.get(3) : undefined;
  if (
    !(m instanceof Map) || m.get(1) !== 1 || !(seed instanceof Uint8Array) || !(pub instanceof Uint8Array)
  ) {
    throw usage(`${what} is not a hub_key file ({1: 1, 2: seed, 3: public key})`);
  }
  if (seed.length !== 32 || toHex(signingKeyFromSeed(seed).public) !== toHex(pub)) {
    throw usage(`${what}: the public key does not match the seed`);
  }
  return pub;
}

function newHubKey(): Uint8Array {
  const k = signingKeyFromSeed(crypto.getRandomValues(new Uint8Array(32)));
  return encodeCbor(new Map<number, CborValue>([[1, 1], [2, k.secret], [3, k.public]]));
}

async function readKeyFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw usage(`Cannot read --key-file ${path}: ${(e as Error).message}`);
  }
}

const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// deno-lint-ignore no-explicit-any
type Obj = any;

export async function rotateKey(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = f.req("cluster-context");
  const n = addressNames(f);
  const windowSec = f.int("window-sec", { min: 1, max: 10 * 365 * 86_400 });
  const wait = f.int("wait-seconds", { min: 0, max: 86_400 });
  const keyFile = f.str("key-file");
  const k = new Kubectl(io, context, mode.verbose);
  const next = `${n.secret}-next`;
  const kind = n.workloadKind.toLowerCase();

  // 1. the -next Secret
  let hubPk: Uint8Array;
  let secretState: "created" | "reused";
  const got = await k.run(["get", `secret/${next}`, "-o", "json"], { namespace: n.namespace });
  if (got.code === 0) {
    let s: Obj;
    try {
      s = JSON.parse(got.stdout);
    } catch {
      throw malformed(`kubectl get secret/${next}: not JSON`);
    }
    const data = s?.data?.hub_key;
    if (typeof data !== "string") throw check("E.NOT_FOUND", `Secret ${next} has no hub_key`);
    hubPk = hubKeyPublic(unb64(data), `Secret ${next} hub_key`);
    if (keyFile !== undefined && toHex(hubKeyPublic(await readKeyFile(keyFile), keyFile)) !== toHex(hubPk)) {
      throw check(
        "E.DUP",
        `Secret ${next} exists with another hub_key than ${keyFile}; delete it to start over`,
      );
    }
    secretState = "reused";
  } else {
    const e = kubectlError(got, `kubectl get secret/${next}`);
    if (e.code !== "E.NOT_FOUND") throw e;
    const bytes = keyFile === undefined ? newHubKey() : await readKeyFile(keyFile);
    hubPk = hubKeyPublic(bytes, keyFile ?? "generated key");
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: next,
        namespace: n.namespace,
        labels: { "app.kubernetes.io/part-of": "veen", "app.kubernetes.io/managed-by": "veen" },
        annotations: { "veen.io/rotation-of": n.secret, "veen.io/hub-pk": toHex(hubPk) },
      },
      type: "Opaque",
      data: { hub_key: b64(bytes) },
    };
    await k.ok(["create", "-f", "-"], `kubectl create secret/${next}`, {
      stdin: JSON.stringify(secret),
      namespace: n.namespace,
    });
    secretState = "created";
  }

  // 2. the workload's patch
  const w: Obj = await k.json(["get", `${kind}/${n.workload}`], `kubectl get ${kind}/${n.workload}`, {
    namespace: n.namespace,
  });
  const spec = w?.spec?.template?.spec;
  const vi = (spec?.volumes ?? []).findIndex((v: Obj) => v?.name === "veen-config");
  const sources = spec?.volumes?.[vi]?.projected?.sources;
  const si = Array.isArray(sources) ? sources.findIndex((s: Obj) => s?.secret !== undefined) : -1;
  if (vi < 0 || si < 0) {
    throw malformed(
      `${kind}/${n.workload} has no veen-config volume with a keys Secret (render it with veen kube)`,
    );
  }
  const ops: Obj[] = [];
  const current = sources[si].secret.name;
  if (current !== next) {
    ops.push({
      op: "replace",
      path: `/spec/template/spec/volumes/${vi}/projected/sources/${si}/secret/name`,
      value: next,
    });
  }
  if (windowSec !== undefined) {
    const containers: [string, Obj[]][] = [["containers", spec.containers ?? []], [
      "initContainers",
      spec.initContainers ?? [],
    ]];
    for (const [field, list] of containers) {
      list.forEach((c: Obj, ci: number) => {
        if (c?.name !== "hub" && c?.name !== "hub-key") return;
        const env: Obj[] = c.env ?? [];
        const ei = env.findIndex((e) => e?.name === "VEEN_ROTATION_WINDOW_SEC");
        const value = { name: "VEEN_ROTATION_WINDOW_SEC", value: String(windowSec) };
        const base = `/spec/template/spec/${field}/${ci}/env`;
        if (ei >= 0) {
          if (env[ei].value !== value.value) ops.push({ op: "replace", path: `${base}/${ei}`, value });
        } else if (c.env === undefined) ops.push({ op: "add", path: base, value: [value] });
        else ops.push({ op: "add", path: `${base}/-`, value });
      });
    }
  }
  if (ops.length > 0) {
    await k.ok(
      ["patch", `${kind}/${n.workload}`, "--type", "json", "-p", JSON.stringify(ops)],
      `kubectl patch`,
      {
        namespace: n.namespace,
      },
    );
  }

  // 3. wait
  let ready: number | null = null;
  if (wait !== undefined) {
    const deadline = io.now() + wait * 1000;
    for (;;) {
      const st = await readWorkload(k, n.workloadKind, n.workload, n.namespace);
      ready = st.ready;
      if (st.current && st.ready >= st.desired) break;
      if (io.now() >= deadline) {
        throw check(
          "E.UNAVAILABLE",
          `${kind}/${n.workload} not ready ${wait} s after the rotation (${st.ready}/${st.desired})`,
        );
      }
      await io.sleep(2000);
    }
  }
  result(io, mode, {
    namespace: n.namespace,
    workload: `${kind}/${n.workload}`,
    secret: next,
    secret_state: secretState,
    previous_secret: current,
    patched: ops.length > 0,
    hub_pk: toHex(hubPk),
    window_sec: windowSec ?? null,
    waited: wait !== undefined,
  }, [
    `secret/${next} ${secretState} (hub_pk ${toHex(hubPk)})`,
    ops.length > 0 ? `${kind}/${n.workload} patched: mounts ${next}` : `${kind}/${n.workload} unchanged`,
    ...(wait !== undefined ? [`ready: ${kind}/${n.workload} ${ready}`] : []),
    `render later manifests with --keys-secret ${next}: a pod given the old key again does not start`,
  ]);
  return EXIT.OK;
}
