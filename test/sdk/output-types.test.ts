// The SDK's function answer types are written out in sdk/client/client.ts (the SDK cannot import
// functions/, and the published declarations must not reach into it); here the type check
// (tsc, part of npm test) holds each one equal to what its function's zod output schema infers,
// so the two cannot drift apart.
import { describe, expect, test } from "bun:test";
import type { z } from "zod";
import { FUNCTIONS } from "../../functions/index.ts";
import type dj from "../../functions/dj.ts";
import type fixShader from "../../functions/fix-shader.ts";
import type generatePrompt from "../../functions/generate-prompt.ts";
import type youtubeMetadata from "../../functions/youtube-metadata.ts";
import type {
  DjOutput,
  FixShaderOutput,
  GeneratePromptOutput,
  YouTubeMetadataOutput,
} from "../../sdk/client/index.ts";

/** true only when A and B are the same type (not merely assignable one way). */
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type OutputOf<F extends { output: z.ZodType }> = z.output<F["output"]>;

const checked = {
  "generate-prompt": true satisfies Same<GeneratePromptOutput, OutputOf<typeof generatePrompt>>,
  "fix-shader": true satisfies Same<FixShaderOutput, OutputOf<typeof fixShader>>,
  dj: true satisfies Same<DjOutput, OutputOf<typeof dj>>,
  "youtube-metadata": true satisfies Same<YouTubeMetadataOutput, OutputOf<typeof youtubeMetadata>>,
};

describe("the SDK's function answer types", () => {
  test("every hosted function's output type is checked against the SDK's", () => {
    expect(FUNCTIONS.map((f) => f.definition.name).sort()).toEqual(Object.keys(checked).sort());
  });
});
