import type { Harness } from "./harness.ts";
export const FUZZ_GOAL = "fuzz";
export async function fuzzSuite(_h: Harness): Promise<void> {}
