/**
 * `veen report-equivocation --hub H --statement A --statement B [--hub-key HEX]` (spec 004 §16, 002 §3.4): two
 * signed statements a client holds (RECEIPT or CHECKPOINT CBOR files, e.g. from `send --dump-raw` or `hub
 * checkpoint --out`) that give one (label, stream_seq) two different leaves or roots under one hub key prove the
 * hub forked the label. The pair is checked here first (under `--hub-key`, else the hub's pinned key), then POSTed
 * to `/report_equivocation`, which stores the proof; a pair that proves nothing is E.SIG, exit 4, and is not sent.
 */
import { decodeCbor, equivocation, statementFromCbor, toHex, VeenError } from "../../core/mod.ts";
import { parseHex32, usageError } from "../../cmd/mod.ts";
import { CLIENT_FLAG, type Command, connectWithClientPin, HUB_FLAG, HUB_KEY_FLAG } from "../context.ts";
import { readInputFile } from "../files.ts";
import { postEquivocation } from "../equivocation_report.ts";

export const reportEquivocation: Command = {
  path: ["report-equivocation"],
  summary: "check two signed statements for equivocation and report the proof to the hub",
  usage:
    "veen report-equivocation --hub H --statement FILE --statement FILE [--hub-key HEX32] [--client DIR]",
  flags: [
    HUB_FLAG,
    {
      name: "statement",
      metavar: "FILE",
      multiple: true,
      help: "a RECEIPT or CHECKPOINT (CBOR) signed by the hub; give exactly two",
    },
    HUB_KEY_FLAG,
    { ...CLIENT_FLAG, help: "client directory whose pinned hub key is used (optional)" },
  ],
  async run(ctx) {
    const files = ctx.flags.list("statement");
    if (files.length !== 2) throw usageError("Give --statement exactly twice");
    const [a, b] = await Promise.all(files.map((f) => readInputFile(f, "signed statement")));
    const session = await connectWithClientPin(ctx);
    const hubKey = ctx.flags.str("hub-key");
    const hubPk = hubKey === undefined ? session.hubPk : parseHex32(hubKey, "--hub-key");
    const proven = equivocation(
      statementFromCbor(decodeCbor(a!, files[0]!)),
      statementFromCbor(decodeCbor(b!, files[1]!)),
      hubPk,
    );
    if (proven === undefined) {
      throw new VeenError(
        "E.SIG",
        `The two statements do not prove equivocation under hub key ${toHex(hubPk)} (same position, both ` +
          "signed by that key, different leaf or root)",
      );
    }
    const answer = await postEquivocation(session.http, a!, b!);
    ctx.out.result(
      { label: toHex(proven.label), stream_seq: proven.seq, hub_answer: answer },
      [
        `equivocation: label ${toHex(proven.label)} stream_seq ${proven.seq}`,
        `reported: ${JSON.stringify(answer)}`,
      ],
    );
    return 0;
  },
};
