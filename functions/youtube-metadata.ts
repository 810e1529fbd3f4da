// ETHEREA VJ: a session's recent prompts in, YouTube title / description / tags out, within the
// limits YouTube's API enforces (title ≤ 100 characters, description ≤ 5,000 bytes, neither with
// "<" or ">", tags ≤ 500 characters together). Prompts come from the request or, when absent,
// from the session's sealed state that generate-prompt keeps. Without a key, a local writer.
import { z } from "zod";
import { defineFunction, FunctionFailure } from "../src/functions/define.ts";
import {
  ANSWER_META,
  anyProvider,
  callWithFallback,
  extractTagged,
  LLM_EGRESS,
  LLM_SECRETS,
  providersOf,
} from "./lib/llm.ts";
import { SessionIdSchema } from "./lib/session-id.ts";

export const TITLE_MAX = 100;
export const DESCRIPTION_MAX_BYTES = 5_000;
export const TAGS_MAX_CHARS = 500;

const noAngles = (s: string) => s.replace(/[<>]/g, "");

/** Fits a value to YouTube's rules: strips what it refuses and cuts at the limits. */
export function fitToYouTube(raw: { title: string; description: string; tags: string[] }) {
  const title =
    noAngles(raw.title).replace(/\s+/g, " ").trim().slice(0, TITLE_MAX).trim() ||
    "ETHEREA live visuals";
  let description = noAngles(raw.description).trim();
  const encoder = new TextEncoder();
  while (encoder.encode(description).length > DESCRIPTION_MAX_BYTES)
    description = description.slice(
      0,
      -Math.max(1, Math.ceil((encoder.encode(description).length - DESCRIPTION_MAX_BYTES) / 4)),
    );
  const tags: string[] = [];
  let used = 0;
  for (const tag of raw.tags.map((t) => noAngles(t).replace(/[,"]/g, "").trim()).filter(Boolean)) {
    // YouTube counts a tag with spaces as if quoted, and a comma between tags.
    const cost = tag.length + (tag.includes(" ") ? 2 : 0) + (tags.length ? 1 : 0);
    if (used + cost > TAGS_MAX_CHARS || tags.includes(tag)) continue;
    tags.push(tag);
    used += cost;
  }
  return { title, description, tags };
}

const SYSTEM = `You write YouTube metadata for a recorded live VJ set. From the Stable Diffusion
prompts the set went through, write an evocative title (at most 100 characters), a description
(2-4 short paragraphs) and 5-15 search tags. Answer with JSON only, between <meta> and </meta>:
{"title": "...", "description": "...", "tags": ["..."]}`;

const MetaSchema = z.object({
  title: z.string().min(1),
  description: z.string(),
  tags: z.array(z.string()),
});

/** The offline writer: a title from the latest scene, the set as a description, tags from its words. */
export function writeLocally(prompts: string[]) {
  const latest = prompts[0]!.split(",")[0]!;
  const words =
    prompts
      .join(" ")
      .toLowerCase()
      .match(/[a-z]{5,}/g) ?? [];
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const tags = [
    "etherea",
    "live visuals",
    "vj set",
    ...[...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([w]) => w)
      .slice(0, 12),
  ];
  const description = `A live ETHEREA VJ set, generated from speech in real time.\n\nScenes:\n${prompts.map((p) => `• ${p}`).join("\n")}`;
  return fitToYouTube({ title: `ETHEREA live: ${latest}`, description, tags });
}

export default defineFunction({
  name: "youtube-metadata",
  app: "etherea",
  description:
    "Writes a YouTube title, description and tags for a session's VJ set from its recent prompts, within YouTube's length rules.",
  input: z
    .object({
      session_id: SessionIdSchema,
      prompts: z.array(z.string().min(1).max(1_000)).min(1).max(20).optional(),
    })
    .strict(),
  output: z
    .object({
      title: z.string().min(1).max(TITLE_MAX),
      description: z.string().max(DESCRIPTION_MAX_BYTES),
      tags: z.array(z.string()).max(100),
      ...ANSWER_META,
    })
    .strict(),
  egress: LLM_EGRESS,
  secrets: LLM_SECRETS,
  async handler(input, ctx) {
    const started = performance.now();
    const stored = await ctx.state.get<{ recent_prompts: string[] }>(
      `sessions/${input.session_id}`,
    );
    const prompts = input.prompts ?? stored?.recent_prompts.filter(Boolean) ?? [];
    if (prompts.length === 0)
      return new FunctionFailure(409, {
        error: "no_prompts",
        message: "this session has no prompts yet: generate some first, or send prompts",
      });
    const providers = providersOf(ctx);
    if (!anyProvider(providers))
      return {
        ...writeLocally(prompts),
        provider_used: "local" as const,
        latency_ms: Math.floor(performance.now() - started),
      };
    const result = await callWithFallback(providers, {
      system: SYSTEM,
      user: `Prompts of the set, newest first:\n${prompts.map((p, i) => `${i + 1}. ${p}`).join("\n")}`,
      maxTokens: 1_500,
      extract: (content) =>
        JSON.stringify(MetaSchema.parse(JSON.parse(extractTagged("meta")(content)))),
    });
    if (!result.ok) {
      ctx.log.warn("all LLM providers failed or answered without valid metadata", {
        reasons: result.reasons,
      });
      return new FunctionFailure(500, { error: "All LLM providers failed" });
    }
    return {
      ...fitToYouTube(JSON.parse(result.text)),
      provider_used: result.provider,
      latency_ms: Math.floor(performance.now() - started),
    };
  },
});
