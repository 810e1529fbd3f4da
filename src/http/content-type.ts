// Request bodies are read only when they say what they are: anything else is 415 before a byte
// is parsed. Besides clarity, this keeps a page on another site from posting JSON as text/plain
// (a "simple" request a browser sends without a CORS preflight) to start work here.
import type { Context } from "hono";
import { apiError } from "./errors.ts";

/** The media type without parameters, lower-cased: "Application/JSON; charset=utf-8" is JSON. */
export function mediaType(c: Context): string {
  return (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The 415 response when the body is not one of `accepted` (exact media types); else undefined. */
export function refuseUnlessMediaType(
  c: Context,
  accepted: readonly string[],
  message: string,
): Response | undefined {
  if (accepted.includes(mediaType(c))) return undefined;
  return apiError(c, 415, "unsupported_media_type", message);
}
