// A session's events as an NDJSON response: the buffered lines from a seq, then live ones, up to
// the final (or error) line. A reader that goes away is reported, so the session can be cancelled
// if nobody comes back for it (SessionManager.readerLeft).
import type { Session } from "../sessions/index.ts";

export function sessionEventStream(
  session: Session,
  fromSeq: number,
  readerLeft: () => void,
): Response {
  const encoder = new TextEncoder();
  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      let unsubscribe = () => {};
      // Buffered lines are replayed synchronously inside subscribe(), so the final event may
      // arrive before subscribe() has returned its unsubscribe function.
      unsubscribe = session.subscribe(fromSeq, (entry) => {
        if (!open) return;
        controller.enqueue(encoder.encode(entry.line + "\n"));
        if (entry.type === "final" || entry.type === "error") {
          open = false;
          controller.close();
          unsubscribe();
        }
      });
      if (!open) unsubscribe();
      cleanup = () => {
        open = false;
        unsubscribe();
      };
    },
    cancel() {
      cleanup();
      readerLeft();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "application/x-ndjson",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
