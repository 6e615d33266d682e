/** `veen kube logs` (CLI-GOALS-3 §2.6): the hub containers' logs, passed through unchanged. */
import { EXIT } from "../../core/mod.ts";
import type { Flags } from "../../cmd/mod.ts";
import { check, type Mode, type OpsIo, usage } from "../io.ts";
import { hubSelector, selectorString } from "../kube_names.ts";
import { checkSubdomain } from "../kube_render_input.ts";
import { Kubectl, kubectlError } from "../kubectl.ts";
import { addressNames, podsOf } from "./cluster.ts";

const DURATION = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/;

export async function logs(io: OpsIo, f: Flags, mode: Mode): Promise<number> {
  const context = f.req("cluster-context");
  const n = addressNames(f);
  const since = f.str("since") ?? "1h";
  if (!DURATION.test(since)) throw usage(`--since must be a duration such as 1h, 10m or 30s, not "${since}"`);
  const follow = f.bool("follow");
  const pod = f.str("pod");
  const k = new Kubectl(io, context, mode.verbose);
  const tail = [`--since=${since}`, ...(follow ? ["--follow"] : [])];
  const run = async (args: string[], what: string) => {
    const res = await k.passthrough(args, { namespace: n.namespace });
    if (res.code !== 0) throw kubectlError(res, what);
  };
  if (pod !== undefined) {
    checkSubdomain(pod, "pod");
    await run(["logs", pod, "-c", "hub", ...tail], `kubectl logs ${pod}`);
    return EXIT.OK;
  }
  const sel = selectorString(hubSelector(n));
  if (follow) {
    await run(["logs", "-l", sel, "-c", "hub", "--max-log-requests=16", ...tail], "kubectl logs");
    return EXIT.OK;
  }
  const pods = await podsOf(k, n.namespace, sel);
  if (pods.length === 0) throw check("E.NOT_FOUND", `no hub pods with labels ${sel} in ${n.namespace}`);
  for (const p of pods) {
    const name = String(p?.metadata?.name ?? "");
    await run(["logs", name, "-c", "hub", ...tail], `kubectl logs ${name}`);
  }
  return EXIT.OK;
}
