/** Flags every `veen bridge export|import|reconcile` takes (AGB0; docs/airgap-bridge.md). */
import type { FlagSpec } from "../cmd/mod.ts";
import { CLIENT_FLAG, HUB_FLAG, HUB_KEY_FLAG, PASSPHRASE_FLAG } from "../cli/mod.ts";

export const AIRGAP_COMMON_FLAGS: readonly FlagSpec[] = [
  HUB_FLAG,
  { ...CLIENT_FLAG, help: "the bridge's client directory (default: $VEEN_CLIENT)" },
  HUB_KEY_FLAG,
  PASSPHRASE_FLAG,
];

/** Flags of the commands that write records (`bridge export`, `bridge import`). */
export const AIRGAP_WRITE_FLAGS: readonly FlagSpec[] = [
  {
    name: "operator",
    metavar: "TEXT",
    help: "operator or automation id in the audit record (default veen-bridge)",
  },
  {
    name: "cap",
    metavar: "FILE",
    help:
      "the bridge client's cap_token for the streams it writes (audit log, import stream) under admission",
  },
];
