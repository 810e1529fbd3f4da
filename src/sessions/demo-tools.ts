// The demo tool set, with exactly the names and shapes the seed's example scripts use, so
//   const users = await callTool('get_users', {}); return await callTool('process', { users });
// runs unchanged. On with the dev TEE; elsewhere only with AUDITOR_DEMO_TOOLS=1.
import { z } from "zod";
import { defineTool, type ToolDefinition } from "../runtime/broker.ts";

const User = z.object({ id: z.number().int(), name: z.string(), email: z.string() }).strict();
// Up to 250,000 users (about 14 MB of JSON): large enough to show auto-ref keeping a big result out of the sandbox.
const MAX_USERS = 250_000;
const ProcessUsersInput = z.object({ users: z.array(User).max(MAX_USERS) }).strict();
const ProcessUsersOutput = z
  .object({ count: z.number().int(), ids: z.array(z.number().int()) })
  .strict();
const NAMES = [
  "Ada",
  "Grace",
  "Alan",
  "Barbara",
  "Edsger",
  "Frances",
  "Donald",
  "Margaret",
  "Ken",
  "Radia",
];

const processUsers = (name: string) =>
  defineTool({
    name,
    description: "counts users and lists their ids",
    input: ProcessUsersInput,
    output: ProcessUsersOutput,
    handler: async ({ users }) => ({ count: users.length, ids: users.map((u) => u.id) }),
  });

export function demoTools(): ToolDefinition[] {
  return [
    defineTool({
      name: "get_users",
      description: "returns `count` sample users (default 3)",
      input: z.object({ count: z.number().int().min(0).max(MAX_USERS).optional() }).strict(),
      output: z.array(User),
      handler: async ({ count = 3 }) =>
        Array.from({ length: count }, (_, i) => {
          const name = NAMES[i % NAMES.length]!;
          return {
            id: i + 1,
            name,
            email: `${name.toLowerCase()}${i >= NAMES.length ? i + 1 : ""}@example.com`,
          };
        }),
    }),
    processUsers("process"),
    processUsers("process_users"),
    defineTool({
      name: "echo",
      description: "returns its arguments",
      input: z.unknown(),
      output: z.unknown(),
      handler: async (args) => args,
    }),
  ];
}
