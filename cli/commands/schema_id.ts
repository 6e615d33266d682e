/** `veen schema-id NAME`: the schema id of NAME as hex, from the one table in core `schemaIdFor` (overlay decisions). */
import { schemaIdFor, toHex } from "../../core/mod.ts";
import type { Command } from "../context.ts";
import { usageError } from "../../cmd/mod.ts";

export const schemaId: Command = {
  path: ["schema-id"],
  summary: "print the schema id of a schema name",
  usage: "veen schema-id NAME",
  flags: [],
  positionals: 1,
  run(ctx) {
    const name = ctx.flags.positionals[0];
    if (name === undefined) throw usageError("Missing schema NAME");
    const id = toHex(schemaIdFor(name));
    ctx.out.result({ name, schema_id: id }, [id]);
    return Promise.resolve(0);
  },
};
