// How the SDK parses what a server sent: with the wire schema and English messages. zod/mini
// loads no locale (messages would all be "Invalid input"), and setting zod's global config would
// change the messages of the application's own schemas too, so the English map goes with each
// parse instead. Schema-level messages ("must be canonical base64url…") still come first.
import type { z } from "zod/mini";
import en from "zod/v4/locales/en.js";

const english = en().localeError;

export function parseWire<S extends z.ZodMiniType>(
  schema: S,
  raw: unknown,
): ReturnType<S["safeParse"]> {
  return schema.safeParse(raw, { error: english }) as ReturnType<S["safeParse"]>;
}
