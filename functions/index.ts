// Every attested function the binary serves, with the source files it is built from: the
// report publishes their digests, the same files GET /source serves (paths from the repository
// root). Add a function here and its sources, including shared ones.
import type { RegisteredFunction } from "../src/functions/define.ts";
import { sourceText } from "../src/source/index.ts";
import dj from "./dj.ts";
import fixShader from "./fix-shader.ts";
import generatePrompt from "./generate-prompt.ts";
import youtubeMetadata from "./youtube-metadata.ts";

/** One source file's entry: its text exactly as the binary carries and serves it. */
function source(path: string): Record<string, string> {
  const text = sourceText(path);
  if (text === undefined)
    throw new Error(`functions/index.ts names ${path}, which is not in the source tree`);
  return { [path]: text };
}

export const FUNCTIONS: RegisteredFunction[] = [
  {
    definition: generatePrompt,
    sources: {
      ...source("functions/generate-prompt.ts"),
      ...source("functions/lib/session-id.ts"),
      ...source("functions/lib/firestore.ts"),
      ...source("functions/lib/llm.ts"),
      ...source("functions/lib/local-prompt.ts"),
      ...source("functions/lib/python-json.ts"),
    },
  },
  {
    definition: fixShader,
    sources: {
      ...source("functions/fix-shader.ts"),
      ...source("functions/lib/glsl.ts"),
      ...source("functions/lib/llm.ts"),
      ...source("functions/lib/python-json.ts"),
    },
  },
  {
    definition: dj,
    sources: {
      ...source("functions/dj.ts"),
      ...source("functions/lib/session-id.ts"),
      ...source("functions/lib/llm.ts"),
      ...source("functions/lib/python-json.ts"),
    },
  },
  {
    definition: youtubeMetadata,
    sources: {
      ...source("functions/youtube-metadata.ts"),
      ...source("functions/lib/session-id.ts"),
      ...source("functions/lib/llm.ts"),
      ...source("functions/lib/python-json.ts"),
    },
  },
];
