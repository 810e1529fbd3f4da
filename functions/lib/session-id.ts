// The session-id rule (DESIGN "Function session ids"): a function's session_id is the only key
// to that session's state (its recent prompts, its cues), so it must carry the client's
// randomness: a UUID of any version, or at least 22 characters of the base64url alphabet
// (128 bits). Anything guessable ("golden", "room-1") is refused, naming session_id.
import { z } from "zod";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RANDOM = /^[A-Za-z0-9_-]{22,200}$/;

/** What a holder of a session id can do with it, for the report. */
export const SESSION_ID_HOLDER =
  "whoever holds a session_id can make calls in that session: its recent prompts (the last 5) shape the next prompt (evolve, remix), youtube-metadata turns them into a title, description and tags, and dj continues its last 3 cues; nothing else is keyed by it";

export const SessionIdSchema = z.string().refine((id) => UUID.test(id) || RANDOM.test(id), {
  error:
    "must be a UUID or at least 22 characters of A-Z, a-z, 0-9, _ and - (the id is the only key to the session's state: it must be unguessable)",
});
