// Every attested function the binary serves, with its source text embedded at build time (the
// report publishes the digests). Add a function here and its sources, including shared ones.
import type { RegisteredFunction } from "../src/functions/define.ts";
import { functionSource } from "../src/functions/source-macro.ts" with { type: "macro" };
import dj from "./dj.ts";
import fixShader from "./fix-shader.ts";
import generatePrompt from "./generate-prompt.ts";
import youtubeMetadata from "./youtube-metadata.ts";

export const FUNCTIONS: RegisteredFunction[] = [
  {
    definition: generatePrompt,
    sources: {
      "generate-prompt.ts": functionSource("generate-prompt.ts"),
      "lib/firestore.ts": functionSource("lib/firestore.ts"),
      "lib/llm.ts": functionSource("lib/llm.ts"),
      "lib/local-prompt.ts": functionSource("lib/local-prompt.ts"),
      "lib/python-json.ts": functionSource("lib/python-json.ts"),
    },
  },
  {
    definition: fixShader,
    sources: {
      "fix-shader.ts": functionSource("fix-shader.ts"),
      "lib/glsl.ts": functionSource("lib/glsl.ts"),
      "lib/llm.ts": functionSource("lib/llm.ts"),
      "lib/python-json.ts": functionSource("lib/python-json.ts"),
    },
  },
  {
    definition: dj,
    sources: {
      "dj.ts": functionSource("dj.ts"),
      "lib/llm.ts": functionSource("lib/llm.ts"),
      "lib/python-json.ts": functionSource("lib/python-json.ts"),
    },
  },
  {
    definition: youtubeMetadata,
    sources: {
      "youtube-metadata.ts": functionSource("youtube-metadata.ts"),
      "lib/llm.ts": functionSource("lib/llm.ts"),
      "lib/python-json.ts": functionSource("lib/python-json.ts"),
    },
  },
];
