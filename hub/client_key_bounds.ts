/**
 * KEX1+ client key usage bounds (002 §4.1, OVERLAY-DECISIONS "KEX1+"), per (label, client_id):
 *
 * - count: the client's MSGs on the label are its last client_seq (the hub requires client_seq = last + 1 from 1,
 *   hub/sequencer.ts); a MSG is refused when that count is already `>= max_msgs_per_client_id_per_label`;
 * - lifetime: `first_seen` is the hub_ts of the client's first admitted MSG on the label; a MSG is refused when
 *   `now - first_seen > max_client_id_lifetime_sec` (so a MSG at exactly first_seen + max is still admitted).
 *
 * Both refusals are E.AUTH with the detail `rotate client key`. An unset bound is unbounded. A first_seen that is
 * unknown (null: a `["client"]` row written before first_seen existed) is not checked; that client's next
 * admitted MSG sets it (docs/durability.md "Client rows").
 */
import { VeenError } from "../core/mod.ts";

export interface ClientKeyBounds {
  maxLifetimeSec: number | null;
  maxMsgs: number | null;
}

/** What the hub knows of one (label, client_id): its last client_seq (its MSG count) and first_seen. */
export interface ClientUsage {
  seq: number;
  firstSeen: number | null;
}

/** Throws E.AUTH when the next MSG of a client with `usage` would exceed `bounds` at hub time `nowSec`. */
export function checkClientKeyBounds(bounds: ClientKeyBounds, usage: ClientUsage, nowSec: number): void {
  if (bounds.maxMsgs !== null && usage.seq >= bounds.maxMsgs) {
    throw new VeenError(
      "E.AUTH",
      `client_id has sent ${usage.seq} MSGs on this label, max_msgs_per_client_id_per_label is ${bounds.maxMsgs}: ` +
        "rotate client key",
    );
  }
  if (
    bounds.maxLifetimeSec !== null && usage.firstSeen !== null &&
    nowSec - usage.firstSeen > bounds.maxLifetimeSec
  ) {
    throw new VeenError(
      "E.AUTH",
      `client_id first wrote this label at ${usage.firstSeen}, ${nowSec - usage.firstSeen} s ago, ` +
        `max_client_id_lifetime_sec is ${bounds.maxLifetimeSec}: rotate client key`,
    );
  }
}

/**
 * first_seen after admitting a MSG at `hubTs`: the client's first MSG on the label (client_seq 1) sets it, a known
 * one is kept, and an unknown one (an old row) becomes this MSG's hub_ts. The index and the log-tail replay use the
 * same rule, so a replayed row equals the one the sequencer would have written.
 */
export function nextFirstSeen(clientSeq: number, prior: number | null, hubTs: number): number {
  return clientSeq === 1 || prior === null ? hubTs : prior;
}
