import assert from "node:assert/strict";
import { OPS_COMMANDS } from "./mod.ts";

Deno.test("every flag of veen env and veen kube has a help line", () => {
  for (const c of OPS_COMMANDS) {
    for (const f of c.flags) assert.notEqual(f.help, "", `veen ${c.path.join(" ")} --${f.name}`);
  }
});
