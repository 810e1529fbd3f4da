// createClient: the one object ETHEREA and agent developers use instead of hand-written fetch.
import { fromBase64Url, utf8 } from "../crypto/encoding.ts";
import { isPinned, pinnedIdentityKey } from "../crypto/pin.ts";
import { untilAborted, type CallOptions } from "./abort.ts";
import type { AttestationResponse } from "../wire/attestation.ts";
import { HandshakeError, HttpError, ProtocolError } from "./errors.ts";
import { ReportSchema, type Report } from "../wire/report.ts";
import { httpError, send, type Fetch } from "./http.ts";
import {
  fetchEgressLog,
  fetchSource,
  followEgressLog,
  type CheckedEgressLog,
  type CheckedSource,
  type FollowOptions,
} from "./provenance.ts";
import type { EgressLogEntry } from "../wire/egress-log.ts";
import { checkReceipt } from "./receipt.ts";
import { decodeReceiptHeader, RECEIPT_HEADER, type Receipt } from "../wire/receipt.ts";
import { sealRequest } from "./sealed.ts";
import { SessionHandle, type ConnectOptions, type StartSessionOptions } from "./session.ts";
import { checkReportBinding, fetchAttestation } from "./trust.ts";
import { parseWire } from "./parse.ts";

export interface ClientOptions {
  /** The Auditor's origin, e.g. https://<app-id>-8787.dstack-….phala.network */
  baseUrl: string;
  /** Identity keys (base64url) or kids the client trusts; needed for sealed calls and encrypted sessions. */
  pinnedKeys?: string[];
  /** Sent as Bearer when creating sessions (AUDITOR_API_KEYS). */
  apiKey?: string;
  fetch?: Fetch;
}

export interface GeneratePromptInput {
  sessionId: string;
  transcript: string;
  styleTags?: string;
  vjInstruction?: "evolve" | "jump" | "remix" | null;
}

// The functions' answers. Written out because the SDK cannot import functions/; the type check
// holds each equal to what its zod output schema infers (test/sdk/output-types.test.ts).
export interface GeneratePromptOutput {
  prompt: string;
  provider_used: "cerebras" | "claude-fallback" | "local";
  latency_ms: number;
}

export interface FixShaderOutput {
  shader: string;
  provider_used: "cerebras" | "claude-fallback" | "local";
  latency_ms: number;
  notes?: string;
}

export interface MusicCue {
  tempo_bpm: number;
  key: string;
  mood_tags: string[];
  prompt: string;
}

export interface DjOutput {
  cue: MusicCue;
  provider_used: "cerebras" | "claude-fallback" | "local";
  latency_ms: number;
}

export interface YouTubeMetadataOutput {
  title: string;
  description: string;
  tags: string[];
  provider_used: "cerebras" | "claude-fallback" | "local";
  latency_ms: number;
}

/** Options of every function call. */
export interface InvokeOptions extends CallOptions {
  /** Seal the call end to end (needs pinnedKeys). */
  sealed?: boolean;
  /**
   * Ask for the answer's receipt: it is verified (signed by the pinned identity key, for this
   * call's exact bytes and status) and handed over before the answer is returned; a missing or
   * bad receipt is a ReceiptError. Needs pinnedKeys.
   */
  onReceipt?: (receipt: Receipt) => void;
}

const parseJson = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
};

/** The HttpError for a non-2xx answer, with the server's JSON error code when it sent one. */
function errorOf(status: number, body: unknown): HttpError {
  const { error, message } = (body ?? {}) as { error?: unknown; message?: unknown };
  const code = typeof error === "string" ? error : undefined;
  const detail = typeof message === "string" ? `: ${message}` : "";
  return new HttpError(`HTTP ${status}${code ? ` ${code}` : ""}${detail}`, status, code, body);
}

export function createClient(options: ClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const fetchFn: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const pinnedKeys = options.pinnedKeys ?? [];
  let trusted: Promise<AttestationResponse> | undefined;

  /**
   * The pinned, quote-checked statement (fetched once; a failure is retried next time). Calls
   * share the one fetch, so an abort only stops its caller waiting.
   */
  const trustedStatement = async (signal?: AbortSignal) => {
    if (pinnedKeys.length === 0)
      throw new HandshakeError("sealed calls and encrypted sessions need pinnedKeys");
    trusted ??= fetchAttestation(fetchFn, baseUrl, pinnedKeys).catch((err) => {
      trusted = undefined;
      throw err;
    });
    return (await untilAborted(trusted, signal)).statement;
  };

  const identity = async (signal?: AbortSignal) => {
    const statement = await trustedStatement(signal);
    const pinned = pinnedIdentityKey(pinnedKeys);
    if (pinned && pinned.kid !== statement.kid)
      throw new HandshakeError("the pinned identity key is not the server's");
    return { key: fromBase64Url(statement.identityKey), kid: statement.kid };
  };

  const invoke = async <T = unknown>(
    fn: string,
    input: unknown,
    invokeOptions: InvokeOptions = {},
  ): Promise<T> => {
    const url = `${baseUrl}/invoke/${encodeURIComponent(fn)}`;
    const { onReceipt, signal } = invokeOptions;
    const aborts = signal ? { signal } : {};
    // A receipt is checked against the pinned statement: asking for one needs pinnedKeys.
    const statement =
      invokeOptions.sealed || onReceipt ? await trustedStatement(signal) : undefined;
    if (!invokeOptions.sealed) {
      const request = utf8(JSON.stringify(input));
      const response = await send(fetchFn, url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: request as Uint8Array<ArrayBuffer>,
        ...aborts,
      });
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (onReceipt) {
        onReceipt(
          await checkReceipt(
            decodeReceiptHeader(response.headers.get(RECEIPT_HEADER)) ?? undefined,
            { statement: statement!, fn, status: response.status, request, response: bytes },
          ),
        );
      }
      const body = parseJson(bytes);
      if (!response.ok) throw errorOf(response.status, body);
      return body as T;
    }
    const sealed = await sealRequest(fn, input, statement!);
    const response = await send(fetchFn, url, {
      method: "POST",
      headers: { "content-type": "application/auditor-sealed+json" },
      body: JSON.stringify(sealed.body),
      ...aborts,
    });
    const body = (await response.json().catch(() => {
      if (signal?.aborted) throw signal.reason;
      return undefined;
    })) as { v?: unknown; error?: unknown } | undefined;
    // Refusals before the server could open the request come back plain.
    if (body?.v !== 1) throw errorOf(response.status, body);
    const opened = await sealed.open(body);
    if (onReceipt)
      onReceipt(
        await checkReceipt(opened.receipt, {
          statement: statement!,
          fn,
          status: response.status,
          request: sealed.plaintext,
          response: opened.bytes,
        }),
      );
    if (!response.ok) throw errorOf(response.status, opened.value);
    return opened.value as T;
  };

  return {
    baseUrl,
    invoke,

    /** The seed's lib/auditor-prompts.js contract: same request, same error text, same result. */
    async generatePrompt(
      input: GeneratePromptInput,
      generateOptions: InvokeOptions = {},
    ): Promise<GeneratePromptOutput> {
      const body = {
        session_id: input.sessionId,
        transcript: input.transcript,
        style_tags: input.styleTags,
        vj_instruction: input.vjInstruction,
      };
      try {
        return await invoke<GeneratePromptOutput>("generate-prompt", body, generateOptions);
      } catch (err) {
        if (err instanceof HttpError)
          throw new HttpError(
            `Prompt generation failed: ${err.status}`,
            err.status,
            err.code,
            err.body,
          );
        throw err;
      }
    },

    /** A corrected GLSL fragment shader from the compiler's error log. */
    fixShader(
      input: { shader: string; errorLog?: string },
      callOptions: InvokeOptions = {},
    ): Promise<FixShaderOutput> {
      return invoke<FixShaderOutput>(
        "fix-shader",
        { shader: input.shader, error_log: input.errorLog ?? "" },
        callOptions,
      );
    },

    /** The next music cue for a session (its last cues are kept server-side for continuity). */
    dj(
      input: { sessionId: string; transcript?: string; mood?: string },
      callOptions: InvokeOptions = {},
    ): Promise<DjOutput> {
      return invoke<DjOutput>(
        "dj",
        { session_id: input.sessionId, transcript: input.transcript ?? "", mood: input.mood ?? "" },
        callOptions,
      );
    },

    /** YouTube title, description and tags from a session's prompts (stored ones unless given). */
    youtubeMetadata(
      input: { sessionId: string; prompts?: string[] },
      callOptions: InvokeOptions = {},
    ): Promise<YouTubeMetadataOutput> {
      return invoke<YouTubeMetadataOutput>(
        "youtube-metadata",
        { session_id: input.sessionId, ...(input.prompts ? { prompts: input.prompts } : {}) },
        callOptions,
      );
    },

    sessions: {
      start(code: string, startOptions: StartSessionOptions = {}): Promise<SessionHandle> {
        return SessionHandle.start(
          {
            baseUrl,
            fetch: fetchFn,
            ...(options.apiKey ? { apiKey: options.apiKey } : {}),
            identity,
          },
          code,
          startOptions,
        );
      },

      /**
       * Reattaches to a running plaintext session by its id and the sessionToken its
       * session_init carried; an encrypted session is refused (its keys stay with its handle).
       */
      connect(
        id: string,
        token: string,
        connectOptions: ConnectOptions = {},
      ): Promise<SessionHandle> {
        return SessionHandle.connect({ baseUrl, fetch: fetchFn }, id, token, connectOptions);
      },
    },

    refs: {
      resolve(
        session: SessionHandle,
        refs: (string | { $ref: { id: string } })[],
        callOptions: CallOptions = {},
      ): Promise<Record<string, unknown>> {
        return session.resolveRefs(refs, callOptions);
      },
    },

    /** GET /attestation, checked: the identity key is pinned (when pins are set) and the quote carries the statement's hash. */
    attestation(
      attestationOptions: { nonce?: string } & CallOptions = {},
    ): Promise<AttestationResponse> {
      return fetchAttestation(
        fetchFn,
        baseUrl,
        pinnedKeys,
        attestationOptions.nonce,
        attestationOptions.signal,
      );
    },

    /** GET /egress-log, every page, with its hash chain and head checked. */
    egressLog(callOptions: CallOptions = {}): Promise<CheckedEgressLog> {
      return fetchEgressLog(fetchFn, baseUrl, callOptions.signal);
    },

    /** New egress log entries as they are recorded, each checked to continue the chain. */
    followEgressLog(followOptions: FollowOptions): AsyncGenerator<EgressLogEntry> {
      return followEgressLog(fetchFn, baseUrl, followOptions);
    },

    /**
     * GET /source, its tree digest recomputed and compared with the statement's (the pinned one
     * when keys are pinned); with `everyFile`, every served file is fetched and hashed too.
     */
    async source(
      sourceOptions: { everyFile?: boolean } & CallOptions = {},
    ): Promise<CheckedSource> {
      const { signal } = sourceOptions;
      const statement =
        pinnedKeys.length > 0
          ? await trustedStatement(signal)
          : (await fetchAttestation(fetchFn, baseUrl, pinnedKeys, undefined, signal)).statement;
      return fetchSource(
        fetchFn,
        baseUrl,
        statement.source.treeSha256,
        sourceOptions.everyFile,
        signal,
      );
    },

    /** GET /report/:app, parsed; with a nonce, the binding (digest, report data, quote) is checked too. */
    async report(
      app: string,
      reportOptions: { nonce?: string } & CallOptions = {},
    ): Promise<Report> {
      const url = `${baseUrl}/report/${encodeURIComponent(app)}${reportOptions.nonce ? `?nonce=${encodeURIComponent(reportOptions.nonce)}` : ""}`;
      const { signal } = reportOptions;
      const response = await send(fetchFn, url, {
        headers: { accept: "application/json" },
        ...(signal ? { signal } : {}),
      });
      if (!response.ok) throw await httpError(response);
      const raw = (await response.json()) as Record<string, unknown>;
      const parsed = parseWire(ReportSchema, raw);
      if (!parsed.success)
        throw new ProtocolError(
          `the report does not match the schema: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
        );
      const report = parsed.data;
      if (pinnedKeys.length > 0 && !isPinned(report.attestation, pinnedKeys)) {
        throw new HandshakeError(
          "the report's attestation statement is not signed by a pinned key",
        );
      }
      // The binding is over the report exactly as served.
      if (reportOptions.nonce) checkReportBinding(raw, reportOptions.nonce);
      return report;
    },
  };
}

export type AuditorClient = ReturnType<typeof createClient>;
