import assert from "node:assert/strict";
import { signingKeyFromSeed } from "./ed25519.ts";
import {
  decodeExportCheckpoint,
  encodeExportCheckpoint,
  exportCheckpointStream,
  signExportCheckpoint,
  verifyExportCheckpointSig,
} from "./export_checkpoint.ts";
import { throwsCode } from "../tests/util.ts";

const hub = signingKeyFromSeed(new Uint8Array(32).fill(3));
const l = (b: number) => new Uint8Array(32).fill(b);
const unsigned = {
  ver: 1 as const,
  hubPk: hub.public,
  profileId: l(9),
  time: 1_700_000_000,
  streams: [{ label: l(1), lastSeq: 3, mmrRoot: l(2) }, { label: l(4), lastSeq: 1, mmrRoot: l(5) }],
};

Deno.test("export checkpoint: round trip, signature over every field, lookup by label", () => {
  const c = signExportCheckpoint(unsigned, hub.secret);
  const back = decodeExportCheckpoint(encodeExportCheckpoint(c));
  assert.deepEqual(back, c);
  assert.ok(verifyExportCheckpointSig(back));
  assert.equal(exportCheckpointStream(back, l(4))?.lastSeq, 1);
  assert.equal(exportCheckpointStream(back, l(7)), undefined);
  for (const changed of [{ ...c, time: c.time + 1 }, { ...c, streams: [{ ...c.streams[0]!, lastSeq: 4 }] }]) {
    assert.equal(verifyExportCheckpointSig(changed), false);
  }
});

Deno.test("export checkpoint: no streams, a label twice or last_seq 0 are E.SIZE", () => {
  for (
    const streams of [[], [unsigned.streams[0]!, unsigned.streams[0]!], [{
      label: l(1),
      lastSeq: 0,
      mmrRoot: l(2),
    }]]
  ) {
    const c = signExportCheckpoint({ ...unsigned, streams }, hub.secret);
    throwsCode(() => decodeExportCheckpoint(encodeExportCheckpoint(c)), "E.SIZE");
  }
});
