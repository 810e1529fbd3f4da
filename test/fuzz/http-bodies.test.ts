// Fuzzing every public body over real HTTP: whatever arrives, the answer is a clear 4xx (or a
// 200 for what happens to be valid), JSON with an error code, never a 5xx, a hang or a crash.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS } from "./runs.ts";

let server: AuditorProcess;
beforeAll(async () => {
  // Dev TEE, no LLM keys: generate-prompt answers from its local composer, so valid bodies are 200.
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
      AUDITOR_MAX_SESSIONS: "5000",
      AUDITOR_MAX_SESSIONS_PER_CALLER: "5000",
    },
  });
});
afterAll(async () => {
  const code = await server?.stop();
  expect(code).toBe(0); // the server is still alive and shuts down cleanly after everything
});

const post = (
  path: string,
  body: string,
  type = "application/json",
  headers: Record<string, string> = {},
) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": type, ...headers },
    body,
  });

/** The body is JSON `{ error, message }` for any non-2xx. */
async function expectClearAnswer(res: Response, allowed: number[]) {
  expect(allowed).toContain(res.status);
  const text = await res.text();
  if (res.status >= 400) {
    const body = JSON.parse(text);
    expect(typeof body.error).toBe("string");
    expect(typeof body.message).toBe("string");
    expect(text).not.toContain("    at "); // no stack trace
  }
  return text;
}

const anyBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b)),
);
const VJ = fc.constantFrom("evolve", "jump", "remix", null, "EVOLVE", "", 7);
const promptBody = fc.record(
  {
    session_id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer()),
    transcript: fc.oneof(fc.string({ maxLength: 400 }), fc.constant(null)),
    style_tags: fc.oneof(fc.string({ maxLength: 100 }), fc.array(fc.string())),
    vj_instruction: VJ,
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe("fuzzing public bodies", () => {
  test(
    "POST /invoke/generate-prompt: any body, any content type",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            anyBody,
            promptBody.map((b) => JSON.stringify(b)),
          ),
          fc.constantFrom("application/json", "text/plain", "application/auditor-sealed+json"),
          async (body, type) => {
            await expectClearAnswer(
              await post("/invoke/generate-prompt", body, type),
              [200, 400, 413, 415],
            );
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "POST /sessions: any body, any content type; a stream that starts always ends with final or error",
    async () => {
      const code = fc.oneof(
        fc.string({ maxLength: 120 }),
        fc.constantFrom(
          "return 1",
          "return await callTool('echo', { a: 1 })",
          "for (;;) {}",
          "while (true) {}",
          "return this",
        ),
      );
      const sessionBody = fc.record(
        {
          protocolVersion: fc.oneof(fc.constant(1), fc.integer(), fc.string()),
          code,
          limits: fc.oneof(
            fc.jsonValue(),
            fc.record({
              cpuMs: fc.integer({ min: -5, max: 200 }),
              timeoutMs: fc.integer({ min: -5, max: 2_000 }),
            }),
          ),
          encryption: fc.jsonValue(),
          refPolicy: fc.jsonValue(),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            anyBody,
            sessionBody.map((b) => JSON.stringify(b)),
          ),
          fc.constantFrom("application/json", "text/plain"),
          async (body, type) => {
            const res = await post("/sessions", body, type);
            const text = await expectClearAnswer(
              res,
              type === "application/json" ? [200, 400, 413] : [415],
            );
            if (res.status === 200) {
              const last = JSON.parse(text.trimEnd().split("\n").at(-1)!);
              expect(["final", "error"]).toContain(last.type);
            }
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "control endpoints and /refs/resolve: any body, any token",
    async () => {
      const first = await (
        await post(
          "/sessions",
          JSON.stringify({ protocolVersion: 1, code: "await callTool('input', {}); return 1;" }),
        )
      )
        .body!.getReader()
        .read();
      const init = JSON.parse(new TextDecoder().decode(first.value).split("\n")[0]!);
      const paths = [
        `/sessions/${init.sessionId}/input`,
        `/sessions/${init.sessionId}/cancel`,
        "/refs/resolve",
        "/sessions/ses_nope/input",
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...paths),
          anyBody,
          fc.constantFrom(undefined, init.payload.sessionToken, "wrong"),
          async (path, body, token) => {
            const headers: Record<string, string> = token
              ? { authorization: `Bearer ${token}` }
              : {};
            await expectClearAnswer(
              await post(path, body, "application/json", headers),
              [200, 400, 401, 403, 404, 409, 413],
            );
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
