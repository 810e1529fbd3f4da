// Every attested function the binary serves, with its source text embedded at build time (the
// report publishes the digests). Add a function here and its sources, including shared ones.
import type { RegisteredFunction } from "../src/functions/define.ts";
import { functionSource } from "../src/functions/source-macro.ts" with { type: "macro" };
import generatePrompt from "./generate-prompt.ts";

export const FUNCTIONS: RegisteredFunction[] = [
  {
    definition: generatePrompt,
    sources: {
      "generate-prompt.ts": functionSource("generate-prompt.ts"),
      "lib/llm.ts": functionSource("lib/llm.ts"),
      "lib/python-json.ts": functionSource("lib/python-json.ts"),
    },
  },
];
