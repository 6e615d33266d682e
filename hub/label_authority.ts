/**
 * AUTH1 label authority (spec 002 §3; overlay decisions "FED1 / AUTH1"): which hub may order a label.
 *
 * - `stream_id_for_label` (§3.1) is known for the stream ids that authority records name: their label is
 *   `labelFor(stream_id, routing_key, 0)` (AUTH1 needs label epochs off, so the hub refuses to start with
 *   `label_epochs` on and `role` primary or replica); `realm_id_for_label` is the hub's realm (one realm per hub).
 *   The label → stream_id index is rebuilt only when the authority view gains a stream, so a lookup is O(1).
 * - `label_authority(L)` (§3.2): the record deciding now (AuthorityView: newest active, ts desc then primary_hub
 *   asc), else policy `unspecified`.
 * - The admission rule (§3.3), run before sequencing and never for admin labels: single-primary and this hub is
 *   not primary → 403 E.AUTH `not primary for label`; multi-primary → accepted (counted); unspecified →
 *   `unspecified_policy` (accept, or reject with E.AUTH `replica: no authority record for label`; a hub started
 *   with `--role replica` rejects unless `unspecified_policy = accept` is set). With no authority record at all and
 *   unspecified labels accepted, the check returns before any lookup.
 */
import { bytesEqual, labelFor, toHex, VeenError } from "../core/mod.ts";
import type { AuthorityRecord, AuthorityView } from "../overlays/mod.ts";
import type { Metrics } from "./metrics.ts";

/**
 * `--role`: what the hub is in a federated set; `hub role` prints it as the spec's role names. `authority` and
 * `tenant` are the deployment roles `veen kube render` puts in `VEEN_ROLE` (spec 000 §3.2): accepted, and
 * standalone as far as AUTH1 goes (a tenant's admin labels follow `admin_source`, hub/admin_source.ts).
 */
export type HubRole = "standalone" | "primary" | "replica" | "authority" | "tenant";
export const HUB_ROLES: readonly HubRole[] = ["standalone", "primary", "replica", "authority", "tenant"];
/** The coarse role `veen hub role` prints (CLI-GOALS-2 §2.2). */
export const SPEC_ROLE: Record<HubRole, string> = {
  standalone: "standalone",
  primary: "federated-primary",
  replica: "federated-replica",
  authority: "standalone",
  tenant: "standalone",
};

/** `unspecified_policy`: what a label without an active authority record gets; "" follows the role. */
export type UnspecifiedPolicy = "" | "accept" | "reject";
export const UNSPECIFIED_POLICIES: readonly UnspecifiedPolicy[] = ["", "accept", "reject"];

export type LabelPolicyName = "single-primary" | "multi-primary" | "unspecified";

/** label_authority(L) (spec 002 §3.2), with the deciding record when there is one. */
export interface LabelAuthorityInfo {
  label: Uint8Array;
  realmId: Uint8Array | undefined;
  /** Undefined when no authority record names a stream with this label. */
  streamId: Uint8Array | undefined;
  policy: LabelPolicyName;
  primaryHub: Uint8Array | undefined;
  replicaHubs: Uint8Array[];
  record: AuthorityRecord | undefined;
}

export interface LabelAuthorityOptions {
  view: AuthorityView;
  realmId: Uint8Array;
  routingKey: Uint8Array;
  /** This hub's hub_id = Ht("veen/hub-id", hub_pk). */
  hubId: Uint8Array;
  role: HubRole;
  unspecifiedPolicy: UnspecifiedPolicy;
  metrics?: Metrics;
  /** TEST-ONLY config key `unsafe_skip_authority`: the admission rule is not applied. */
  unsafeSkip?: boolean;
}

export const NOT_PRIMARY = "not primary for label";
export const NO_AUTHORITY = "replica: no authority record for label";

export class LabelAuthority {
  readonly #labels = new Map<string, Uint8Array>();
  #indexed = -1;
  /** Whether labels without an active record are accepted. */
  readonly acceptsUnspecified: boolean;

  constructor(private readonly o: LabelAuthorityOptions) {
    this.acceptsUnspecified = o.unspecifiedPolicy === ""
      ? o.role !== "replica"
      : o.unspecifiedPolicy === "accept";
  }

  get hubId(): Uint8Array {
    return this.o.hubId;
  }

  get role(): HubRole {
    return this.o.role;
  }

  /** Whether this hub applies the admission rule (not with the test-only `unsafe_skip_authority`). */
  get enforced(): boolean {
    return this.o.unsafeSkip !== true;
  }

  /** The label of `streamId` at this hub (epoch 0). */
  labelOf(streamId: Uint8Array): Uint8Array {
    return labelFor(streamId, this.o.routingKey, 0);
  }

  /** stream_id_for_label (spec 002 §3.1): known for stream ids that authority records name. O(1). */
  streamIdFor(label: Uint8Array): Uint8Array | undefined {
    if (this.#indexed !== this.o.view.streamsVersion) {
      this.#labels.clear();
      for (const s of this.o.view.streamIds()) this.#labels.set(toHex(this.labelOf(s)), s);
      this.#indexed = this.o.view.streamsVersion;
    }
    return this.#labels.get(toHex(label));
  }

  /** label_authority for the label of `streamId` at `now` (seconds). */
  ofStream(streamId: Uint8Array, now: number): LabelAuthorityInfo {
    return this.#info(this.labelOf(streamId), streamId, now);
  }

  /** label_authority(L) at `now` (seconds). */
  ofLabel(label: Uint8Array, now: number): LabelAuthorityInfo {
    return this.#info(label, this.streamIdFor(label), now);
  }

  #info(label: Uint8Array, streamId: Uint8Array | undefined, now: number): LabelAuthorityInfo {
    const record = streamId === undefined ? undefined : this.o.view.deciding(streamId, now);
    return {
      label,
      realmId: this.o.realmId,
      streamId,
      policy: record?.policy ?? "unspecified",
      primaryHub: record?.primaryHub,
      replicaHubs: record?.replicaHubs ?? [],
      record,
    };
  }

  /** The refusal the admission rule gives `info` at this hub, or undefined when a write is accepted. */
  refusal(info: LabelAuthorityInfo): string | undefined {
    if (info.policy === "single-primary") {
      return bytesEqual(info.primaryHub!, this.o.hubId) ? undefined : NOT_PRIMARY;
    }
    if (info.policy === "unspecified" && !this.acceptsUnspecified) return NO_AUTHORITY;
    return undefined;
  }

  /**
   * The admission rule (spec 002 §3.3) for a MSG on `label` at `now` (seconds); 403 E.AUTH when refused, with the
   * spec's detail as it stands (like `rotate client key`).
   */
  check(label: Uint8Array, now: number): void {
    if (this.o.unsafeSkip === true) return;
    if (this.o.view.size === 0 && this.acceptsUnspecified) return;
    const info = this.ofLabel(label, now);
    const why = this.refusal(info);
    if (why !== undefined) {
      if (this.o.metrics !== undefined) this.o.metrics.authorityRefused++;
      throw new VeenError("E.AUTH", why);
    }
    if (info.policy === "multi-primary" && this.o.metrics !== undefined) {
      this.o.metrics.multiPrimaryAccepted++;
    }
  }
}
