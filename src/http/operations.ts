// What a route states about itself for GET /openapi.json, written beside its handler with the
// very schema objects the handler parses with (and types its answers by), so the document
// cannot describe a request the route would read differently. src/http/openapi.ts turns a list
// of these into the OpenAPI document.
import type { z } from "zod";

/** A schema with a name: it becomes `#/components/schemas/<name>` and is referenced by it. */
export interface NamedSchema {
  readonly name: string;
  readonly schema: z.core.$ZodType;
}

export const named = (name: string, schema: z.core.$ZodType): NamedSchema => ({ name, schema });

export type SchemaRef = z.core.$ZodType | NamedSchema;

/** A body's schema: one, or several a body may match (anyOf). */
export type BodySchema = SchemaRef | readonly SchemaRef[];

/** Response headers worth stating (X-Request-Id is on every answer and added for all). */
export type ResponseHeader = "retry-after" | "auditor-receipt" | "allow" | "etag";

/** Two descriptions of one status as one sentence: "A; or b". */
export const eitherOf = (first: string, second: string) =>
  `${first}; or ${second.charAt(0).toLowerCase()}${second.slice(1)}`;

export interface ResponseSpec {
  description: string;
  /** Media type → schema of the body. */
  content?: Readonly<Record<string, BodySchema>>;
  /** The `error` codes of the `{ error, message, issues? }` body this status may carry. */
  errors?: readonly string[];
  headers?: readonly ResponseHeader[];
}

export interface Operation {
  method: "get" | "post";
  /** The path as hono registers it (`/invoke/:fn`); a trailing `*` is the parameter `path`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Path parameters by their names in `path`. */
  params?: z.core.$ZodObject;
  query?: z.core.$ZodObject;
  /** Request headers other than X-Request-Id, Authorization, Accept and Content-Type. */
  headers?: z.core.$ZodObject;
  /** Bearer credentials: an API key (when the operator set some), a session's token, or an operator key. */
  security?: "apiKey" | "sessionToken" | "operatorKey";
  /** The request body; required unless `optional` (a plaintext session's cancel needs none). */
  body?: { description: string; content: Readonly<Record<string, BodySchema>>; optional?: true };
  responses: Readonly<Record<number, ResponseSpec>>;
}
