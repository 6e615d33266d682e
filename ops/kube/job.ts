/** `veen kube job send|stream` (CLI-GOALS-3 §3): one CLI command in a Kubernetes Job, its result printed. */
import { EXIT } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { check, malformed, type Mode, type OpsIo, readUserFile, result, usage } from "../io.ts";
import {
  DEFAULT_JOB_IMAGE,
  hubUrlOf,
  type JobInput,
  jobName,
  jobObject,
  receiptSummary,
} from "../kube_job.ts";
import { checkDnsLabel } from "../kube_names.ts";
import {
  checkImage,
  checkLabelValue,
  checkProfileId,
  checkSubdomain,
  parseEnvFile,
} from "../kube_render_input.ts";
import { Kubectl, kubectlError } from "../kubectl.ts";
import { toYaml } from "../manifest.ts";

export async function job(action: "send" | "stream", io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const dryRun = f.bool("dry-run");
  const context = dryRun ? f.str("cluster-context") ?? "" : f.req("cluster-context");
  const namespace = checkDnsLabel(f.req("namespace"), "namespace");
  const hubService = f.req("hub-service");
  if (/\s/.test(hubService)) throw usage(`--hub-service must be a DNS name[:port], not "${hubService}"`);
  const clientSecret = checkSubdomain(f.req("client-secret"), "client-secret");
  const stream = f.req("stream");
  const wait = f.int("wait-seconds", { min: 1, max: 86_400 }) ?? 300;
  const env = f.str("env-file") === undefined
    ? []
    : parseEnvFile(await readUserFile(f.str("env-file")!, "--env-file"), f.str("env-file")!);
  const inp: JobInput = {
    action,
    name: "",
    namespace,
    image: checkImage(f.str("image") ?? DEFAULT_JOB_IMAGE),
    hubUrl: hubUrlOf(hubService),
    clientSecret,
    stream,
    env,
    universeId: checkLabelValue(f.str("universe-id") ?? "default", "universe-id"),
    deadlineSeconds: wait,
  };
  if (f.str("tenant-id") !== undefined) inp.tenantId = checkDnsLabel(f.str("tenant-id")!, "tenant-id");
  if (f.str("state-pvc") !== undefined) inp.statePvc = checkSubdomain(f.str("state-pvc")!, "state-pvc");
  if (action === "send") {
    inp.body = f.req("body");
    try {
      JSON.parse(inp.body);
    } catch {
      throw usage("--body must be JSON");
    }
    if (f.str("cap-secret") !== undefined) {
      inp.capSecret = checkSubdomain(f.str("cap-secret")!, "cap-secret");
    }
    if (f.str("profile-id") !== undefined) inp.profileId = checkProfileId(f.str("profile-id")!);
    const t = f.int("timeout-ms", { min: 1, max: 3_600_000 });
    if (t !== undefined) inp.timeoutMs = t;
  } else {
    const from = f.int("from", { min: 0, max: Number.MAX_SAFE_INTEGER });
    if (from !== undefined) inp.from = from;
    if (f.bool("with-proof")) inp.withProof = true;
  }
  const explicitName = f.str("job-name");
  inp.name = explicitName !== undefined
    ? checkDnsLabel(explicitName, "job-name")
    : jobName(action, { ...inp, name: undefined }, io.now());
  const obj = jobObject(inp);

  if (dryRun) {
    io.writeOut(mode.json ? JSON.stringify(obj, null, 2) + "\n" : toYaml([obj]));
    return EXIT.OK;
  }
  const k = new Kubectl(io, context, mode.verbose);
  await k.ok(["create", "-f", "-"], `kubectl create job/${inp.name}`, {
    stdin: JSON.stringify(obj),
    namespace,
  });
  if (!mode.json && !mode.quiet) {
    io.writeErr(`job.batch/${inp.name} created in ${namespace}; waiting up to ${wait} s\n`);
  }

  const deadline = io.now() + wait * 1000;
  let outcome: "succeeded" | "failed" | undefined;
  while (outcome === undefined) {
    const j = await k.json(["get", `job/${inp.name}`], `kubectl get job/${inp.name}`, { namespace });
    // deno-lint-ignore no-explicit-any
    const conds: any[] = Array.isArray(j?.status?.conditions) ? j.status.conditions : [];
    const has = (t: string) => conds.some((c) => c?.type === t && c?.status === "True");
    if (has("Complete") || (j?.status?.succeeded ?? 0) > 0) outcome = "succeeded";
    else if (has("Failed") || (j?.status?.failed ?? 0) > 0) outcome = "failed";
    else if (io.now() >= deadline) {
      throw check(
        "E.UNAVAILABLE",
        `job/${inp.name} in ${namespace} did not finish within ${wait} s (it stops at its activeDeadlineSeconds)`,
      );
    } else await io.sleep(2000);
  }
  const logRes = await k.run(["logs", `job/${inp.name}`, "-c", "veen"], { namespace });
  const output = logRes.code === 0 ? logRes.stdout : "";
  const outLines = output.split("\n");
  if (outLines[outLines.length - 1] === "") outLines.pop();

  if (outcome === "failed") {
    const errLine = [...outLines].reverse().find((l) => /^E\.[A-Z_]+: /.test(l));
    const code = errLine === undefined ? "E.CHECK" : errLine.slice(0, errLine.indexOf(":"));
    const detail = errLine === undefined
      ? `job/${inp.name} in ${namespace} failed${logRes.code === 0 ? "" : " (its logs could not be read)"}`
      : `job/${inp.name} failed: ${errLine.slice(errLine.indexOf(":") + 2)}`;
    if (!mode.json) io.writeErr(output);
    throw check(code, detail);
  }
  if (logRes.code !== 0) throw kubectlError(logRes, `kubectl logs job/${inp.name}`);
  if (action === "send") {
    const r = receiptSummary(output);
    if (r === undefined) {
      if (!mode.json) io.writeErr(output);
      throw malformed(`job/${inp.name} succeeded but its output has no stream_seq/msg_id receipt summary`);
    }
    result(io, mode, { job: inp.name, namespace, stream, ...r }, [
      `stream_seq: ${r.stream_seq}`,
      `msg_id: ${r.msg_id}`,
    ]);
  } else if (mode.json) {
    result(io, mode, { job: inp.name, namespace, stream, output }, []);
  } else if (!mode.quiet) {
    io.writeOut(output);
  }
  return EXIT.OK;
}
