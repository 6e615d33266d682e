/** `veen bridge`: replication between hubs (ANCHOR0.3). */
import { EXIT } from "../core/mod.ts";

export function bridgeMain(_args: string[]): Promise<number> {
  console.error("E.UNAVAILABLE: veen bridge is not available in this build yet");
  return Promise.resolve(EXIT.USAGE);
}
