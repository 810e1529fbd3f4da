// Fuzzing the parsers a hostile peer feeds: NDJSON framing under any chunking, envelopes with
// any payload, session events of any shape. They refuse with their one typed error, or parse.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DecryptError } from "../../sdk/crypto/aes-gcm.ts";
import { openEnvelope, sealEnvelope } from "../../sdk/crypto/envelope.ts";
import { ndjsonLines } from "../../sdk/client/ndjson.ts";
import { EncLineSchema, SessionEventSchema } from "../../sdk/wire/sessions.ts";
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS } from "./runs.ts";

const key = crypto.getRandomValues(new Uint8Array(32));

describe("fuzzing parsers", () => {
  test(
    "NDJSON: any text cut into any chunks gives exactly its non-blank lines",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 12 }),
          fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 10 }),
          async (parts, cuts) => {
            const text = parts.join("\n");
            const bytes = new TextEncoder().encode(text);
            const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort(
              (a, b) => a - b,
            );
            const chunks: Uint8Array[] = [];
            let at = 0;
            for (const p of [...points, bytes.length]) {
              chunks.push(bytes.subarray(at, p));
              at = p;
            }
            const stream = new ReadableStream<Uint8Array>({
              start(c) {
                for (const chunk of chunks) c.enqueue(chunk);
                c.close();
              },
            });
            const lines: string[] = [];
            for await (const line of ndjsonLines(stream)) lines.push(line.text);
            expect(lines).toEqual(text.split("\n").filter((l) => l.trim() !== ""));
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "envelopes: any payload opens only if it is the real one; everything else is the uniform DecryptError",
    async () => {
      const real = await sealEnvelope(
        key,
        "ses_f",
        1,
        "kid_fuzz_000000",
        JSON.stringify({ seq: 1, type: "x" }),
      );
      const payload = fc.record({
        kid: fc.oneof(fc.constant("kid_fuzz_000000"), fc.string()),
        nonceB64: fc.oneof(fc.constant(real.nonceB64), fc.base64String(), fc.string()),
        ciphertextB64: fc.oneof(
          fc.base64String({ maxLength: 200 }),
          fc.string(),
          fc.constant(real.ciphertextB64.slice(0, -4) + "AAAA"),
        ),
      });
      await fc.assert(
        fc.asyncProperty(payload, fc.integer({ min: 1, max: 3 }), async (p, seq) => {
          const outcome = await openEnvelope(key, "ses_f", seq, "kid_fuzz_000000", p).then(
            () => "opened",
            (e) => e,
          );
          if (outcome === "opened") expect(p).toEqual({ ...real, kid: "kid_fuzz_000000" });
          else expect(outcome).toBeInstanceOf(DecryptError);
        }),
        { numRuns: FUZZ_RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "wire schemas: any JSON is accepted or refused by zod, never thrown past it",
    () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expect(() => SessionEventSchema.safeParse(value)).not.toThrow();
          expect(() => EncLineSchema.safeParse(value)).not.toThrow();
        }),
        { numRuns: FUZZ_RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
