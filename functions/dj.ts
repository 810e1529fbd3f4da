// ETHEREA VJ: the DJ. A transcript and a mood in, a short structured music cue out (tempo, key,
// mood tags, and a text prompt for a music model). A session's last cues are kept in sealed
// state so the music evolves instead of jumping. Without a key, a local composer answers.
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

const NOTES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"] as const;
export const KEYS = NOTES.flatMap((n) => [`${n} major`, `${n} minor`]) as [string, ...string[]];
const RECENT_CUES = 3;

export const CueSchema = z
  .object({
    tempo_bpm: z.number().int().min(60).max(200),
    key: z.enum(KEYS),
    mood_tags: z.array(z.string().min(1).max(24)).min(1).max(8),
    prompt: z.string().min(1).max(300),
  })
  .strict();
type Cue = z.infer<typeof CueSchema>;

const SYSTEM = `You are the DJ of a live audio-visual performance. From what the room is saying and
the mood asked for, choose the next music cue. Keep continuity with the previous cues unless the
mood asks for a change. Answer with JSON only, between <cue> and </cue>:
{"tempo_bpm": 60-200, "key": "<note> major|minor" (notes C C# D Eb E F F# G Ab A Bb B),
 "mood_tags": [1-8 short tags], "prompt": "<= 300 characters for a text-to-music model"}`;

const MOOD_TEMPO: [RegExp, number][] = [
  [/\b(calm|ambient|chill|serene|sad|slow|dream)/i, 84],
  [/\b(dark|tense|mysterious|brooding)/i, 100],
  [/\b(happy|warm|groove|funk|bright)/i, 112],
  [/\b(energetic|rave|euphoric|hype|fast|dance|techno)/i, 128],
];

/** The offline DJ: a plausible cue from the same inputs, deterministic for the same inputs. */
export function composeCue(transcript: string, mood: string, previous: Cue | undefined): Cue {
  const text = `${mood} ${transcript}`;
  const tempo =
    MOOD_TEMPO.find(([pattern]) => pattern.test(mood))?.[1] ?? previous?.tempo_bpm ?? 110;
  let hash = 0;
  for (const ch of text) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const minor = /\b(dark|sad|tense|mysterious|brooding|calm)/i.test(mood);
  const key = previous && !mood ? previous.key : `${NOTES[hash % 12]} ${minor ? "minor" : "major"}`;
  const words = (text.toLowerCase().match(/[a-z]{4,}/g) ?? [])
    .filter((w, i, all) => all.indexOf(w) === i)
    .slice(0, 5);
  const mood_tags = words.length ? words.map((w) => w.slice(0, 24)) : ["ambient"];
  const prompt =
    `${mood || "evolving"} instrumental at ${tempo} bpm in ${key}, inspired by: ${transcript}`.slice(
      0,
      300,
    );
  return { tempo_bpm: tempo, key, mood_tags, prompt };
}

interface DjState {
  cues: Cue[];
}

export default defineFunction({
  name: "dj",
  app: "etherea",
  description:
    "Chooses the next music cue (tempo, key, mood tags, a music-model prompt) from the transcript and a mood, keeping each session's last cues in sealed state for continuity.",
  input: z
    .object({
      session_id: SessionIdSchema,
      transcript: z.string().max(4_000).default(""),
      mood: z.string().max(200).default(""),
    })
    .strict(),
  output: z
    .object({
      cue: CueSchema,
      ...ANSWER_META,
    })
    .strict(),
  egress: LLM_EGRESS,
  secrets: LLM_SECRETS,
  async handler(input, ctx) {
    const started = performance.now();
    const key = `dj/${input.session_id}`;
    const state = (await ctx.state.get<DjState>(key)) ?? { cues: [] };
    const providers = providersOf(ctx);
    let cue: Cue;
    let provider: "cerebras" | "claude-fallback" | "local" = "local";
    if (!anyProvider(providers)) {
      cue = composeCue(input.transcript, input.mood, state.cues[0]);
    } else {
      const previous = state.cues.length
        ? state.cues.map((c) => JSON.stringify(c)).join("\n")
        : "(none yet)";
      const result = await callWithFallback(providers, {
        system: SYSTEM,
        user: `Previous cues (newest first):\n${previous}\n\nMood asked for: ${input.mood || "(none: follow the room)"}\n\nWhat the room is saying:\n${input.transcript || "(silence)"}`,
        extract: (content) =>
          JSON.stringify(CueSchema.parse(JSON.parse(extractTagged("cue")(content)))),
      });
      if (!result.ok) {
        ctx.log.warn("all LLM providers failed or answered without a valid cue", {
          reasons: result.reasons,
        });
        return new FunctionFailure(500, { error: "All LLM providers failed" });
      }
      cue = JSON.parse(result.text) as Cue;
      provider = result.provider;
    }
    await ctx.state.update<DjState>(
      key,
      (current) => ({ cues: [cue, ...(current?.cues ?? [])].slice(0, RECENT_CUES) }),
      { ttlMs: ctx.stateIdleTtlMs },
    );
    return { cue, provider_used: provider, latency_ms: Math.floor(performance.now() - started) };
  },
});
