// ETHEREA VJ: transcript → Stable Diffusion prompt. Faithful to the seed handler of the
// "Client-Direct-to-TEE Architecture": the same system prompt and user message text, the same
// upstream requests, retries and fallback, the same rotation of a session's 5 recent prompts.
// With no API key configured it composes prompts locally (lib/local-prompt.ts), so a fresh
// install works offline.
import { z } from "zod";
import { defineFunction, FunctionFailure } from "../src/functions/define.ts";
import { FIRESTORE_EGRESS, FIRESTORE_SECRETS, logPrompt } from "./lib/firestore.ts";
import { ANSWER_META, callWithFallback, LLM_EGRESS, LLM_SECRETS, providersOf } from "./lib/llm.ts";
import { composeLocalPrompt } from "./lib/local-prompt.ts";
import { SessionIdSchema } from "./lib/session-id.ts";

const VJ_INSTRUCTIONS = {
  evolve: "Gradually evolve the current scene. Subtle changes.",
  jump: "Make a significant visual shift. New scene.",
  remix: "Keep the subject but dramatically change the style.",
} as const;

type VjInstruction = keyof typeof VJ_INSTRUCTIONS;

const BASE_SYSTEM_PROMPT = `Given the following transcript, produce an effective Stable Diffusion prompt.

CRITICAL: The diffusion model has NO MEMORY. Each prompt is processed independently.
You must include ALL visual details in EVERY prompt.

IMPORTANT GUIDELINES FOR CHARACTERS AND IP:
- When users specifically request characters, reproduce them faithfully
- Include recognizable details like clothing, appearance, iconic features
- For fictional characters, use their proper names and distinctive visual traits

Never write things like "same as before", "continue the previous style".
Keep prompts under 300 characters. No emojis.`;

export function buildSystemPrompt(
  styleTags: string,
  recentPrompts: string[],
  vjInstruction: VjInstruction | null,
): string {
  let prompt = BASE_SYSTEM_PROMPT;
  if (styleTags) {
    prompt += `

=== STYLE CONTEXT (HIGH PRIORITY) ===
${styleTags}

These style elements should DOMINATE the visual output.`;
  }
  if (recentPrompts[0]) {
    prompt += `

=== RECENT PROMPT (for continuity) ===
${recentPrompts[0]}

Build iteratively on this scene. Evolve, don't repeat.`;
  }
  if (vjInstruction) {
    prompt += `

=== VJ INSTRUCTION ===
${VJ_INSTRUCTIONS[vjInstruction]}`;
  }
  return prompt;
}

export function buildUserMessage(transcript: string, recentPrompts: string[]): string {
  const context = recentPrompts.slice(0, 3).filter(Boolean).join("\n");
  if (context) {
    return `Recent prompts for context:
${context}

New transcript to respond to:
${transcript}

Generate a new prompt that builds on the scene.`;
  }
  return `Transcript:
${transcript}

Generate a Stable Diffusion prompt for this scene.`;
}

export const RECENT_PROMPTS = 5;

export function rotatePrompts(recent: string[], prompt: string): string[] {
  return [prompt, ...recent.slice(0, RECENT_PROMPTS - 1)];
}

interface SessionState {
  recent_prompts: string[];
  created_at: number;
}

export default defineFunction({
  name: "generate-prompt",
  app: "etherea",
  description:
    "Turns a live speech transcript into a Stable Diffusion prompt for the ETHEREA VJ visuals, keeping each session's 5 most recent prompts for continuity.",
  input: z
    .object({
      session_id: SessionIdSchema,
      transcript: z.string().max(20_000).default(""),
      style_tags: z.string().max(2_000).default(""),
      vj_instruction: z.enum(["evolve", "jump", "remix"]).nullable().default(null),
    })
    .strict(),
  output: z
    .object({
      prompt: z.string().min(1),
      ...ANSWER_META,
    })
    .strict(),
  egress: [...LLM_EGRESS, ...FIRESTORE_EGRESS],
  secrets: [...LLM_SECRETS, ...FIRESTORE_SECRETS],
  sessionTool: true,
  async handler(input, ctx) {
    const key = `sessions/${input.session_id}`;
    const session = (await ctx.state.get<SessionState>(key)) ?? {
      recent_prompts: Array(RECENT_PROMPTS).fill(""),
      created_at: Date.now(),
    };
    const recent = session.recent_prompts;
    const started = performance.now();
    const openrouterKey = ctx.secrets.OPENROUTER_API_KEY;
    const anthropicKey = ctx.secrets.ANTHROPIC_API_KEY;

    let prompt: string;
    let provider: "cerebras" | "claude-fallback" | "local";
    if (!openrouterKey && !anthropicKey) {
      prompt = composeLocalPrompt({
        sessionId: input.session_id,
        transcript: input.transcript,
        styleTags: input.style_tags,
        recentPrompts: recent,
        vj: input.vj_instruction,
      });
      provider = "local";
    } else {
      const result = await callWithFallback(providersOf(ctx), {
        system: buildSystemPrompt(input.style_tags, recent, input.vj_instruction),
        user: buildUserMessage(input.transcript, recent),
      });
      if (!result.ok) {
        ctx.log.warn("all LLM providers failed", { reasons: result.reasons });
        return new FunctionFailure(500, { error: "All LLM providers failed" });
      }
      prompt = result.text;
      provider = result.provider;
    }
    const latency_ms = Math.floor(performance.now() - started);

    // Rotate against the stored list as it is now, so concurrent calls of one session all land.
    await ctx.state.update<SessionState>(
      key,
      (current) => {
        const base = current ?? session;
        return { ...base, recent_prompts: rotatePrompts(base.recent_prompts, prompt) };
      },
      { ttlMs: ctx.stateIdleTtlMs },
    );
    // The seed's log_to_firestore: only when configured, never failing this call; awaited, so the
    // call's receipt lists the analytics egress too.
    await logPrompt(ctx, {
      session_id: input.session_id,
      transcript: input.transcript,
      prompt,
      style_tags: input.style_tags,
      provider,
    });
    return { prompt, provider_used: provider, latency_ms };
  },
});
