// Builds the OpenAPI 3.1 document (GET /openapi.json) from the operations the routes declare
// (src/http/operations.ts): every schema in it is z.toJSONSchema of the zod object the route
// parses with (requests as the wire has them, io "input"; answers as sent, io "output"). What
// every route shares is added here once: the X-Request-Id parameter and header, the error shape,
// 429 from the in-flight cap (and the rate limit where it applies) and 500. The input is code
// only (no clock, no configuration), so one build always serves the same bytes.
import { z } from "zod";
import { SignedReceiptSchema } from "../../sdk/wire/receipt.ts";
import { ApiErrorSchema } from "./errors.ts";
import {
  eitherOf,
  named,
  type BodySchema,
  type Operation,
  type ResponseHeader,
  type ResponseSpec,
  type SchemaRef,
} from "./operations.ts";
import { RequestIdSchema } from "./request-log.ts";

export interface DocumentInput {
  version: string;
  operations: readonly Operation[];
  /** The path patterns the per-address rate limit covers, as the app registers it. */
  rateLimited: readonly string[];
}

type Json = Record<string, unknown>;
type Io = "input" | "output";

const API_ERROR = named("ApiError", ApiErrorSchema);
const SIGNED_RECEIPT = named("SignedReceipt", SignedReceiptSchema);
/**
 * Canonical unpadded base64url (the encoder's one spelling: a last character's spare bits are
 * zero), the receipt header's alphabet and length rule.
 */
const CANONICAL_BASE64URL =
  "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])?$";
/** Retry-After as this server writes it: whole seconds. */
const RetryAfterSchema = z.string().regex(/^[1-9][0-9]*$/);

/** `/invoke/:fn` → `/invoke/{fn}`; a trailing `*` (GET /source/*) is the parameter `path`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}").replace(/\*$/, "{path}");
}

/** A JSON Schema of a zod schema, as a fragment of the document (the dialect is set once). */
function jsonSchema(schema: z.core.$ZodType, io: Io): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Json;
  return rest;
}

export function openApiDocument(input: DocumentInput): Json {
  const components = new Map<string, { schema: z.core.$ZodType; io: Io; json: Json }>();

  /** A named schema becomes a component (once; a name means one schema), others are inline. */
  const schemaOf = (body: SchemaRef, io: Io): Json => {
    if (!("name" in body && "schema" in body)) return jsonSchema(body as z.core.$ZodType, io);
    const known = components.get(body.name);
    if (!known)
      components.set(body.name, { schema: body.schema, io, json: jsonSchema(body.schema, io) });
    else if (known.schema !== body.schema)
      throw new Error(`openapi: two schemas are named ${body.name}`);
    else if (
      known.io !== io &&
      JSON.stringify(jsonSchema(body.schema, io)) !== JSON.stringify(known.json)
    ) {
      throw new Error(`openapi: ${body.name} differs between requests and answers; name each side`);
    }
    return { $ref: `#/components/schemas/${body.name}` };
  };
  const bodySchemaOf = (body: BodySchema, io: Io): Json => {
    const all = Array.isArray(body) ? body : [body as SchemaRef];
    return all.length === 1 ? schemaOf(all[0]!, io) : { anyOf: all.map((b) => schemaOf(b, io)) };
  };

  const headerObjects: Record<ResponseHeader | "x-request-id", () => Json> = {
    "x-request-id": () => ({
      description: "The request's id: the caller's X-Request-Id when valid, else a fresh UUID",
      schema: jsonSchema(RequestIdSchema, "output"),
    }),
    "retry-after": () => ({
      description: "Seconds to wait before retrying",
      schema: jsonSchema(RetryAfterSchema, "output"),
    }),
    "auditor-receipt": () => ({
      description:
        'base64url(JCS({ receipt, signature })): the answer\'s receipt, signed by the identity key (DESIGN "Receipts"); on every answer after the input was read, never on sealed calls (their body carries it)',
      schema: {
        type: "string",
        pattern: CANONICAL_BASE64URL,
        contentEncoding: "base64url",
        contentMediaType: "application/json",
        contentSchema: schemaOf(SIGNED_RECEIPT, "output"),
      },
    }),
    allow: () => ({ description: "The methods this path takes", schema: { type: "string" } }),
    etag: () => ({ description: "The SDK bundle's content hash", schema: { type: "string" } }),
  };
  const headerRef = (name: ResponseHeader | "x-request-id") => ({
    $ref: `#/components/headers/${name}`,
  });

  const responseObject = (spec: ResponseSpec): Json => {
    const content: Record<string, Json> = {};
    for (const [media, body] of Object.entries(spec.content ?? {}))
      content[media] = { schema: bodySchemaOf(body, "output") };
    if (spec.errors?.length) {
      const coded = {
        ...schemaOf(API_ERROR, "output"),
        type: "object",
        properties: { error: { type: "string", enum: [...spec.errors] } },
      };
      const json = content["application/json"]?.schema as Json | undefined;
      content["application/json"] = {
        schema: json
          ? { anyOf: [...((json.anyOf as Json[] | undefined) ?? [json]), coded] }
          : coded,
      };
    }
    const headers: Json = { "x-request-id": headerRef("x-request-id") };
    for (const name of spec.headers ?? []) headers[name] = headerRef(name);
    return {
      description: spec.description,
      headers,
      ...(Object.keys(content).length ? { content } : {}),
    };
  };

  /** The route's own answers, with the ones every route can give merged in. */
  const responsesOf = (op: Operation): Record<string, ResponseSpec> => {
    const limited = input.rateLimited.some((p) =>
      p.endsWith("/*") ? op.path.startsWith(p.slice(0, -1)) : op.path === p,
    );
    const shared: Record<number, ResponseSpec> = {
      429: {
        description: limited
          ? "Too many requests from this address: in progress at once, or per minute"
          : "This address already has its maximum of requests in progress",
        errors: limited ? ["too_many_in_flight", "rate_limited"] : ["too_many_in_flight"],
        headers: ["retry-after"],
      },
      500: { description: "An internal error (never a stack trace)", errors: ["internal_error"] },
    };
    const merged: Record<string, ResponseSpec> = {};
    for (const status of [...new Set([...Object.keys(op.responses), ...Object.keys(shared)])]
      .map(Number)
      .sort((a, b) => a - b)) {
      const own = op.responses[status];
      const common = shared[status];
      if (!own || !common) {
        merged[status] = (own ?? common)!;
        continue;
      }
      merged[status] = {
        description: eitherOf(own.description, common.description),
        ...(own.content ? { content: own.content } : {}),
        errors: [...new Set([...(own.errors ?? []), ...(common.errors ?? [])])],
        headers: [...new Set([...(own.headers ?? []), ...(common.headers ?? [])])],
      };
    }
    return merged;
  };

  const parametersOf = (op: Operation): Json[] => {
    const path = openApiPath(op.path);
    const named = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const declared = Object.keys(op.params?._zod.def.shape ?? {});
    if (named.join() !== declared.join())
      throw new Error(
        `openapi: ${op.method} ${op.path} names path parameters ${named.join(", ") || "none"} but declares ${declared.join(", ") || "none"}`,
      );
    const each = (where: "path" | "query" | "header", shape: Record<string, z.core.$ZodType>) =>
      Object.entries(shape).map(([name, schema]) => {
        const { description, ...rest } = jsonSchema(schema, "input");
        return {
          name,
          in: where,
          required: where === "path" || !z.safeParse(schema, undefined).success,
          ...(description ? { description } : {}),
          schema: rest,
        };
      });
    return [
      { $ref: "#/components/parameters/RequestId" },
      ...each("path", op.params?._zod.def.shape ?? {}),
      ...each("query", op.query?._zod.def.shape ?? {}),
      ...each("header", op.headers?._zod.def.shape ?? {}),
    ];
  };

  const paths: Record<string, Record<string, Json>> = {};
  const tags: string[] = [];
  const operationIds = new Set<string>();
  for (const op of input.operations) {
    const path = openApiPath(op.path);
    const item = (paths[path] ??= {});
    if (item[op.method]) throw new Error(`openapi: ${op.method} ${path} is declared twice`);
    if (operationIds.has(op.operationId))
      throw new Error(`openapi: operationId ${op.operationId} is used twice`);
    operationIds.add(op.operationId);
    if (!tags.includes(op.tag)) tags.push(op.tag);
    const responses = Object.fromEntries(
      Object.entries(responsesOf(op)).map(([status, spec]) => [status, responseObject(spec)]),
    );
    item[op.method] = {
      operationId: op.operationId,
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      parameters: parametersOf(op),
      ...(op.security === "apiKey" ? { security: [{}, { apiKey: [] }] } : {}),
      ...(op.security === "sessionToken" ? { security: [{ sessionToken: [] }, {}] } : {}),
      ...(op.security === "operatorKey" ? { security: [{ operatorKey: [] }] } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: op.body.optional !== true,
              description: op.body.description,
              content: Object.fromEntries(
                Object.entries(op.body.content).map(([media, body]) => [
                  media,
                  { schema: bodySchemaOf(body, "input") },
                ]),
              ),
            },
          }
        : {}),
      responses,
    };
  }

  const headers = Object.fromEntries(
    Object.entries(headerObjects).map(([name, make]) => [name, make()]),
  );
  const methodNotAllowed = responseObject({
    description: "The path exists, the method does not: Allow lists the methods it takes",
    errors: ["method_not_allowed"],
    headers: ["allow"],
  });
  const notFound = responseObject({ description: "No route has this path", errors: ["not_found"] });
  return {
    openapi: "3.1.1",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Auditor",
      version: input.version,
      description: [
        "Attested functions, reports, provenance and AgentScript sessions, served by one binary in a TEE.",
        "The wire contracts are DESIGN.md and docs/protocol.md in the source (GET /source); this document is generated from the zod schemas the routes validate with.",
        "Every error is JSON `{ error, message, issues? }` (components.schemas.ApiError) unless stated otherwise; never a stack trace.",
        "Every answer carries X-Request-Id. A path answers methods it does not take with 405 and Allow (components.responses.MethodNotAllowed), an unknown path with 404 (components.responses.NotFound); HEAD is answered as GET, and OPTIONS is the CORS preflight on every path.",
        "A body over 576 KiB is refused by the HTTP layer itself with a bare 413 (no JSON); a malformed header line with a bare 400.",
      ].join("\n\n"),
    },
    tags: tags.map((name) => ({ name })),
    paths,
    components: {
      schemas: Object.fromEntries(
        [...components].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, c]) => [name, c.json]),
      ),
      responses: { MethodNotAllowed: methodNotAllowed, NotFound: notFound },
      parameters: {
        RequestId: {
          name: "X-Request-Id",
          in: "header",
          required: false,
          description:
            "Your id for this request, returned and carried into every log line it causes. Anything invalid (longer than 128, other characters, several headers) is replaced by a fresh UUID, never refused or echoed.",
          schema: jsonSchema(RequestIdSchema, "input"),
        },
      },
      headers,
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description:
            "A key from AUDITOR_API_KEYS; needed only when the operator set some (the report says whether)",
        },
        operatorKey: {
          type: "http",
          scheme: "bearer",
          description:
            "A key from AUDITOR_OPERATOR_KEYS (the operator's; with none configured, these answer 403 operator_disabled)",
        },
        sessionToken: {
          type: "http",
          scheme: "bearer",
          description:
            "The session's token: session_init's sessionToken for a plaintext session; for an encrypted one both ends derive it (docs/protocol.md), and control requests send an enc envelope instead",
        },
      },
    },
  };
}
