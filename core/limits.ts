/** Default bounds (spec 004 §19). Exceeding any of them is E.SIZE; deployments may lower or raise them. */
export interface Limits {
  maxMsgBytes: number;
  maxBodyBytes: number;
  maxHdrBytes: number;
  maxProofLen: number;
  maxCapChain: number;
  maxAttachmentsPerMsg: number;
  maxAttachmentBytes: number;
  clockSkewEpochs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMsgBytes: 1_048_576,
  maxBodyBytes: 1_048_320,
  maxHdrBytes: 16_384,
  maxProofLen: 64,
  maxCapChain: 8,
  maxAttachmentsPerMsg: 1024,
  maxAttachmentBytes: 8 * 1_048_576,
  clockSkewEpochs: 1,
});

/**
 * The largest delay setTimeout honours (2^31-1 ms); a larger one fires at once, so a poll or wait flag beyond it
 * would busy-loop. Command-line parsers bound `*-ms` flags by it.
 */
export const MAX_TIMER_MS = 2_147_483_647;
