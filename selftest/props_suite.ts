import type { Harness } from "./harness.ts";
export const PROPS_GOAL = "props";
export async function propsSuite(_h: Harness): Promise<void> {}
