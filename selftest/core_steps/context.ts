/**
 * What the steps of `veen selftest core` share: the run's hubs, clients and helpers. Each step is one file in this
 * folder exporting a {@link CoreStep}; `selftest/core_suite.ts` runs them in the order of its table, so a new step
 * is a new file and one table entry.
 */
import { fail, type Harness, type HubHandle, StepSkipped } from "../harness.ts";
import type { Rng } from "../rng.ts";

/** A client directory made by `veen keygen`. */
export interface Client {
  name: string;
  dir: string;
  clientId: string;
  idSignPublic: string;
}

/** One step of the core suite: a name and goal for the report, and what it runs. */
export interface CoreStep {
  name: string;
  goal: string;
  /** A failing critical step aborts the suite (the later steps need what it sets up). */
  critical?: boolean;
  /** The step is left out of the run (not even reported as skipped) when this is false. */
  when?: (ctx: CoreCtx) => boolean;
  run(ctx: CoreCtx, ev: string[]): Promise<void>;
}

/** The state steps hand on to later steps; `setup` fills the hub and the clients. */
export class CoreCtx {
  readonly rng: Rng;
  readonly marker: string;
  /** The hub most steps talk to: "main", or the deployed one with `--hub URL`. */
  url = "";
  /** The "main" hub's handle; undefined against a deployed hub. */
  main: HubHandle | undefined;
  /** GET /info of the hub at `url`. */
  info: Record<string, unknown> = {};
  alice!: Client;
  bob!: Client;
  admin!: Client;
  /** The admission-on hub the `admission` step starts (own hubs only). */
  admission: HubHandle | undefined;

  constructor(readonly h: Harness) {
    this.rng = h.rng.fork("core");
    this.marker = `selftest-plaintext-${h.opts.seed}-${h.runId}`;
  }

  /** Whether the hub at `url` accepts writes without a capability. */
  get open(): boolean {
    return this.info.admission !== true;
  }

  /** Skips the step when the hub at `url` requires admission (this run holds no key it trusts). */
  needOpen(): void {
    if (!this.open) throw new StepSkipped("the hub requires admission and trusts no key this run holds");
  }

  /** A stream name private to this run. */
  S(name: string): string {
    return this.h.stream(name);
  }

  /** Where steps write their files. */
  get files(): string {
    return `${this.h.root}/files`;
  }
}

/** Skips the step unless this program has `veen WORDS` (rpc, crdt, anchor, retention arrived late). */
export async function requireCommand(h: Harness, ...words: string[]): Promise<void> {
  if (!(await h.hasCommand(words))) {
    throw new StepSkipped(`command not available: veen ${words.join(" ")} (--help did not exit 0)`);
  }
}

/** Skips the step against a deployed hub (`--hub URL`). */
export function needOwnHub(h: Harness, why: string): void {
  if (h.deployed) throw new StepSkipped(`needs a hub started by the selftest (${why}); not run with --hub`);
}

/** The admission-on hub of the `admission` step; fails when it did not start. */
export function admissionHub(ctx: CoreCtx): HubHandle {
  needOwnHub(ctx.h, "needs an admission-on hub that trusts the selftest's issuer");
  if (ctx.admission === undefined) fail("the admission hub did not start");
  return ctx.admission;
}

/** Stops a hub a step started for itself, also when the step failed; never masks the step's own error. */
export async function stopAfterStep(h: Harness, hub: HubHandle, ev: string[]): Promise<void> {
  try {
    ev.push(await h.stopHub(hub));
  } catch (e) {
    ev.push(`stopping hub ${hub.name}: ${e instanceof Error ? e.message : e}`);
  }
}

export const num = (v: unknown, what: string): number => {
  if (typeof v !== "number") fail(`${what} is not a number: ${JSON.stringify(v)}`);
  return v;
};
export const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") fail(`${what} is not a string: ${JSON.stringify(v)}`);
  return v;
};
export const arr = (v: unknown, what: string): Record<string, unknown>[] => {
  if (!Array.isArray(v)) fail(`${what} is not a list: ${JSON.stringify(v)}`);
  return v as Record<string, unknown>[];
};

/** `veen keygen --out ROOT/clients/NAME`. */
export async function keygen(h: Harness, name: string): Promise<Client> {
  const dir = `${h.root}/clients/${name}`;
  const j = await h.ok(["keygen", "--out", dir]);
  return {
    name,
    dir,
    clientId: str(j.client_id, "keygen client_id"),
    idSignPublic: str(j.id_sign_public, "keygen id_sign_public"),
  };
}

/** Waits until the wall clock has passed `unixSec` (plus a small margin), in whole-second hub time. */
export async function untilSecond(unixSec: number): Promise<void> {
  const wait = unixSec * 1000 - Date.now() + 100;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/** `veen send --hub HUB --client DIR --stream STREAM` (the caller adds --body, --cap, ...). */
export function sendArgs(hub: string, clientDir: string, stream: string): string[] {
  return ["send", "--hub", hub, "--client", clientDir, "--stream", stream];
}

/** `veen stream --hub HUB --client DIR --stream STREAM`. */
export function streamArgs(hub: string, clientDir: string, stream: string): string[] {
  return ["stream", "--hub", hub, "--client", clientDir, "--stream", stream];
}

/** `veen cap issue --issuer DIR --subject SUBJECT --stream STREAM --ttl TTL` (the caller adds --rate, --out). */
export function capIssueArgs(issuerDir: string, subject: string, stream: string, ttl: string): string[] {
  return ["cap", "issue", "--issuer", issuerDir, "--subject", subject, "--stream", stream, "--ttl", ttl];
}
