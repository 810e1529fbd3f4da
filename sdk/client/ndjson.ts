// Splits an NDJSON byte stream into lines, whatever the chunk boundaries (a line may span many
// chunks, a chunk many lines, and a multi-byte character may be cut between chunks).
import { ProtocolError } from "./errors.ts";

export interface NdjsonLine {
  text: string;
  /** False for a last line the stream ended in the middle of (no trailing newline). */
  complete: boolean;
}

export async function* ndjsonLines(
  body: ReadableStream<Uint8Array>,
  maxLineBytes = 16 * 1024 * 1024,
): AsyncGenerator<NdjsonLine> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffered += decoder.decode(chunk.value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (text.trim() !== "") yield { text, complete: true };
      }
      if (buffered.length > maxLineBytes)
        throw new ProtocolError(`a line longer than ${maxLineBytes} bytes`);
    }
    buffered += decoder.decode();
    if (buffered.trim() !== "") yield { text: buffered, complete: false };
  } finally {
    reader.releaseLock();
  }
}
