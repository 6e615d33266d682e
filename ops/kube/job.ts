/** `veen kube job send|stream` (CLI-GOALS-3 §3): one CLI command in a Kubernetes Job, its result printed. */
import { EXIT } from "../../core/mod.ts";
import {
  check,
  type Flags,
  int,
  malformed,
  type Mode,
  type OpsIo,
  readUserFile,
  req,
  result,
  str,
  usage,
} from "../io.ts";
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
  const dryRun = f["dry-run"] === true;
  const context = dryRun ? str(f, "cluster-context") ?? "" : req(f, "cluster-context");
  const namespace = checkDnsLabel(req(f, "namespace"), "namespace");
  const hubService = req(f, "hub-service");
  if (/\s/.test(hubService)) throw usage(`--hub-service must be a DNS name[:port], not "${hubService}"`);
  const clientSecret = checkSubdomain(req(f, "client-secret"), "client-secret");
  const stream = req(f, "stream");
  const wait = int(f, "wait-seconds", 1, 86_400) ?? 300;
  const env = str(f, "env-file") === undefined
    ? []
    : parseEnvFile(await readUserFile(str(f, "env-file")!, "--env-file"), str(f, "env-file")!);
  const inp: JobInput = {
    action,
    name: "",
    namespace,
    image: checkImage(str(f, "image") ?? DEFAULT_JOB_IMAGE),
    hubUrl: hubUrlOf(hubService),
    clientSecret,
    stream,
    env,
    universeId: checkLabelValue(str(f, "universe-id") ?? "default", "universe-id"),
    deadlineSeconds: wait,
  };
  if (str(f, "tenant-id") !== undefined) inp.tenantId = checkDnsLabel(str(f, "tenant-id")!, "tenant-id");
  if (str(f, "state-pvc") !== undefined) inp.statePvc = checkSubdomain(str(f, "state-pvc")!, "state-pvc");
  if (action === "send") {
    inp.body = req(f, "body");
    try {
      JSON.parse(inp.body);
    } catch {
      throw usage("--body must be JSON");
    }
    if (str(f, "cap-secret") !== undefined) {
      inp.capSecret = checkSubdomain(str(f, "cap-secret")!, "cap-secret");
    }
    if (str(f, "profile-id") !== undefined) inp.profileId = checkProfileId(str(f, "profile-id")!);
    const t = int(f, "timeout-ms", 1, 3_600_000);
    if (t !== undefined) inp.timeoutMs = t;
  } else {
    const from = int(f, "from", 0, Number.MAX_SAFE_INTEGER);
    if (from !== undefined) inp.from = from;
    if (f["with-proof"] === true) inp.withProof = true;
  }
  const explicitName = str(f, "job-name");
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
