// LLM provider calls shared by every ETHEREA function: the seed's OpenRouter (Cerebras) call
// with retries, the Claude fallback, and <prompt> extraction. Requests are byte-identical to the
// seed's; a failed attempt never throws, it reports why (without upstream content or secrets).
import { z } from "zod";
import { pythonJsonDumps } from "./python-json.ts";

export const OPENROUTER_DEFAULT_URL = "https://openrouter.ai/api/v1";
export const ANTHROPIC_DEFAULT_URL = "https://api.anthropic.com";
export const CEREBRAS_MAX_RETRIES = 2; // 3 attempts in all
export const CEREBRAS_TIMEOUT_MS = 5_000;
export const CLAUDE_TIMEOUT_MS = 30_000;

export interface LlmRequest {
  system: string;
  user: string;
  /** Completion budget (default 300, the seed's). */
  maxTokens?: number;
  /** Pulls the answer out of the completion (default: the seed's <prompt> extraction). */
  extract?: (content: string) => string;
}

export interface ProviderSettings {
  fetch: typeof fetch;
  openrouter: { baseUrl: string; apiKey: string | undefined };
  anthropic: { baseUrl: string; apiKey: string | undefined };
}

export type Attempt = { ok: true; text: string } | { ok: false; reason: string };

/** First <prompt>…</prompt> (across lines), trimmed; otherwise the content as given. */
export function extractPrompt(content: string): string {
  const match = /<prompt>([\s\S]*?)<\/prompt>/.exec(content);
  return match ? match[1]!.trim() : content;
}

export async function callOpenRouter(
  settings: ProviderSettings,
  request: LlmRequest,
): Promise<Attempt> {
  const { apiKey, baseUrl } = settings.openrouter;
  if (!apiKey) return { ok: false, reason: "OPENROUTER_API_KEY not set" };
  const body = pythonJsonDumps({
    model: "openai/gpt-oss-120b",
    messages: [
      { role: "system", content: request.system },
      { role: "user", content: request.user },
    ],
    max_tokens: request.maxTokens ?? 300,
    temperature: 0.7,
    provider: { order: ["Cerebras"], allow_fallbacks: false },
  });
  return post(
    settings.fetch,
    `${baseUrl}/chat/completions`,
    body,
    {
      "Content-Type": "application/json",
      Authorization: `Bearer ${apiKey}`,
      "HTTP-Referer": "https://etherea.ai",
      "X-Title": "Etherea",
    },
    CEREBRAS_TIMEOUT_MS,
    request.extract ?? extractPrompt,
    (json) => (json as { choices: { message: { content: string } }[] }).choices[0]!.message.content,
  );
}

export async function callClaude(
  settings: ProviderSettings,
  request: LlmRequest,
): Promise<Attempt> {
  const { apiKey, baseUrl } = settings.anthropic;
  if (!apiKey) return { ok: false, reason: "ANTHROPIC_API_KEY not set" };
  const body = pythonJsonDumps({
    model: "claude-sonnet-4-5",
    max_tokens: request.maxTokens ?? 300,
    system: request.system,
    messages: [{ role: "user", content: request.user }],
  });
  return post(
    settings.fetch,
    `${baseUrl}/v1/messages`,
    body,
    {
      "Content-Type": "application/json",
      "x-api-key": apiKey,
      "anthropic-version": "2023-06-01",
    },
    CLAUDE_TIMEOUT_MS,
    request.extract ?? extractPrompt,
    (json) => (json as { content: { text: string }[] }).content[0]!.text,
  );
}

async function post(
  fetcher: typeof fetch,
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  extract: (content: string) => string,
  contentOf: (json: unknown) => string,
): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetcher(url, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const name = (err as Error).name;
    return {
      ok: false,
      reason: name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : name,
    };
  }
  if (response.status !== 200) return { ok: false, reason: `HTTP ${response.status}` };
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    return { ok: false, reason: "reply is not JSON" };
  }
  let content: unknown;
  try {
    content = contentOf(json);
  } catch {
    content = undefined;
  }
  if (typeof content !== "string") return { ok: false, reason: "unexpected response format" };
  let text: string;
  try {
    text = extract(content.trim());
  } catch {
    return { ok: false, reason: "the completion does not have the expected form" };
  }
  return text ? { ok: true, text } : { ok: false, reason: "empty completion" };
}

export type Provider = "cerebras" | "claude-fallback";
export type ChainResult =
  | { ok: true; text: string; provider: Provider }
  | { ok: false; reasons: string[] };

/** The seed's order: up to 3 Cerebras attempts back to back, then one Claude attempt. */
export async function callWithFallback(
  settings: ProviderSettings,
  request: LlmRequest,
): Promise<ChainResult> {
  const reasons: string[] = [];
  for (let attempt = 0; attempt <= CEREBRAS_MAX_RETRIES; attempt++) {
    const result = await callOpenRouter(settings, request);
    if (result.ok) return { ok: true, text: result.text, provider: "cerebras" };
    reasons.push(`cerebras: ${result.reason}`);
    if (!settings.openrouter.apiKey) break; // retrying cannot conjure a key
  }
  const claude = await callClaude(settings, request);
  if (claude.ok) return { ok: true, text: claude.text, provider: "claude-fallback" };
  reasons.push(`claude: ${claude.reason}`);
  return { ok: false, reasons };
}

/** Provider settings from a function's context: its declared upstreams and its own secrets. */
export function providersOf(ctx: {
  fetch: typeof fetch;
  upstreams: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string | undefined>>;
}): ProviderSettings {
  return {
    fetch: ctx.fetch,
    openrouter: {
      baseUrl: ctx.upstreams.openrouter ?? OPENROUTER_DEFAULT_URL,
      apiKey: ctx.secrets.OPENROUTER_API_KEY,
    },
    anthropic: {
      baseUrl: ctx.upstreams.anthropic ?? ANTHROPIC_DEFAULT_URL,
      apiKey: ctx.secrets.ANTHROPIC_API_KEY,
    },
  };
}

/** True when at least one provider has a key; otherwise functions answer from local logic. */
export const anyProvider = (settings: ProviderSettings) =>
  Boolean(settings.openrouter.apiKey || settings.anthropic.apiKey);

/** The upstreams every LLM function declares (same hosts, same operator overrides). */
export const LLM_EGRESS = [
  {
    name: "openrouter",
    url: OPENROUTER_DEFAULT_URL,
    overrideEnv: "OPENROUTER_BASE_URL",
    purpose: "Cerebras gpt-oss-120b via OpenRouter: the system prompt and user message",
    enabledWhen: ["OPENROUTER_API_KEY"],
  },
  {
    name: "anthropic",
    url: ANTHROPIC_DEFAULT_URL,
    overrideEnv: "ANTHROPIC_BASE_URL",
    purpose: "Claude fallback when Cerebras fails: the same messages",
    enabledWhen: ["ANTHROPIC_API_KEY"],
  },
];
export const LLM_SECRETS = ["OPENROUTER_API_KEY", "ANTHROPIC_API_KEY"];

/** The content of the first <tag>…</tag>, trimmed; throws when there is none. */
export function extractTagged(tag: string): (content: string) => string {
  return (content) => {
    const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(content);
    if (!match) throw new Error(`no <${tag}> in the completion`);
    return match[1]!.trim();
  };
}

/** What every LLM function's answer says about how it was made. */
export const ANSWER_META = {
  provider_used: z.enum(["cerebras", "claude-fallback", "local"]),
  latency_ms: z.number().int().min(0),
};
