// ETHEREA VJ: a GLSL fragment shader and the compiler's error log in, a corrected shader out.
// Same providers, retries and fallback as generate-prompt; whatever comes back must be one
// fragment shader of bounded size before it is returned. Without a key, local fixes only.
import { z } from "zod";
import { defineFunction, FunctionFailure } from "../src/functions/define.ts";
import { checkFragmentShader, fixLocally, MAX_SHADER_BYTES } from "./lib/glsl.ts";
import {
  ANSWER_META,
  anyProvider,
  callWithFallback,
  extractTagged,
  LLM_EGRESS,
  LLM_SECRETS,
  providersOf,
} from "./lib/llm.ts";

const SYSTEM = `You fix GLSL fragment shaders for a live WebGL visual performance.
You get a shader and the compiler's error log. Return the corrected shader: the same visual
intent, the smallest change that compiles in WebGL (GLSL ES 1.00, or 3.00 if it starts with
#version 300 es). One fragment shader only: no vertex shader, no #include, no explanations in the
code. Answer with the full corrected source between <shader> and </shader>.`;

export default defineFunction({
  name: "fix-shader",
  app: "etherea",
  description:
    "Repairs a GLSL fragment shader from its compiler error log for the ETHEREA visual stage; the answer is checked to be one fragment shader of at most 16 KB.",
  input: z
    .object({
      shader: z.string().min(1).max(MAX_SHADER_BYTES),
      error_log: z.string().max(8_000).default(""),
    })
    .strict(),
  output: z
    .object({
      shader: z.string().min(1).max(MAX_SHADER_BYTES),
      ...ANSWER_META,
      notes: z.string().optional(),
    })
    .strict(),
  egress: LLM_EGRESS,
  secrets: LLM_SECRETS,
  async handler(input, ctx) {
    const started = performance.now();
    const providers = providersOf(ctx);
    if (!anyProvider(providers)) {
      const local = fixLocally(input.shader);
      return {
        shader: local.source,
        provider_used: "local" as const,
        latency_ms: Math.floor(performance.now() - started),
        notes: local.notes,
      };
    }
    const result = await callWithFallback(providers, {
      system: SYSTEM,
      user: `Shader:\n${input.shader}\n\nCompiler errors:\n${input.error_log || "(none given)"}`,
      maxTokens: 4_000,
      extract: extractTagged("shader"),
    });
    if (!result.ok) {
      ctx.log.warn("all LLM providers failed", { reasons: result.reasons });
      return new FunctionFailure(500, { error: "All LLM providers failed" });
    }
    const checked = checkFragmentShader(result.text);
    if (!checked.ok)
      return new FunctionFailure(502, {
        error: "invalid_shader",
        message: `the model's answer is not a usable fragment shader: ${checked.reason}`,
      });
    return {
      shader: checked.source,
      provider_used: result.provider,
      latency_ms: Math.floor(performance.now() - started),
    };
  },
});
