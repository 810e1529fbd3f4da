// The same report as prose, for people and for agents that prefer text. It is a rendering:
// its digest is the JSON form's (the first lines say which URL to hash and how).
import type { Report } from "./build.ts";

const code = (text: string) => `\`${text}\``;

export function reportMarkdown(r: Report): string {
  const s = r.attestation;
  const lines: string[] = [
    `# Data-flow report: ${r.app}`,
    "",
    r.attested
      ? `Attested: a TDX quote backs the statement (GET /attestation). TEE provider ${s.tee.provider}, app ${s.tee.appId}, compose hash ${s.tee.composeHash}.`
      : "**Not attested**: this server runs in dev mode, without a TDX quote. Everything below is the server's own word and only shows it is consistent with itself.",
    "",
    `This is the prose form of GET /report/${r.app} (JSON). Digests and bindings are over the JSON form: SHA-256(JCS(the JSON report without binding)), fetched with the same nonce; see "Definitions".`,
    "",
    `Generated ${r.generatedAt}. Identity key id ${code(s.kid)}. Binary sha256: ${r.binarySha256 ? code(r.binarySha256) : "none (running from source)"}.`,
    `Source: ${r.source.repository} at commit ${r.source.commit ? code(r.source.commit) : "(unknown)"}, tree ${code(r.source.treeSha256)} (GET /source).`,
    "",
    "## Where data can go, and where it goes now",
  ];
  for (const f of r.functions) {
    lines.push("", `### ${f.name}`, "", f.description, "", "May send data to:");
    for (const e of f.egress) {
      const override = e.overriddenBy
        ? ` **(operator override via ${e.overriddenBy}; declared ${e.declaredUrl})**`
        : "";
      lines.push(
        `- ${e.origin}: ${e.purpose}${override}. **${e.enabled ? "Enabled now" : "Not in use now"}**: ${e.enabledBecause}.`,
      );
    }
    if (f.egress.length === 0) lines.push("- nowhere: it answers inside the TEE");
    lines.push("", `Secrets it can read (names only): ${f.secrets.join(", ") || "none"}.`);
    if (f.sessionTool)
      lines.push(
        "",
        `AgentScript sessions may also call it as ${code(`callTool("${f.name}", input)`)}, under the same policy.`,
      );
    lines.push("", `Sources (sourceSha256 ${code(f.sourceSha256)}):`);
    for (const file of f.sources) lines.push(`- ${code(file.path)}: ${code(file.sha256)}`);
    lines.push(
      "",
      "Input schema:",
      "```json",
      JSON.stringify(f.input, null, 2),
      "```",
      "Output schema:",
      "```json",
      JSON.stringify(f.output, null, 2),
      "```",
    );
  }
  lines.push("", "## Configuration, as the running code states it", "");
  for (const [name, c] of Object.entries(r.configuration)) {
    lines.push(
      `- **${name}**: ${String(c.value)} (${c.knownBy}${c.setBy ? `; set by ${c.setBy}` : ""}): ${c.meaning}.`,
    );
  }
  lines.push(
    "",
    "## Other channels",
    "",
    "Besides function egress, the process opens only these; every other network API refuses and is recorded.",
  );
  for (const ch of r.channels) {
    lines.push(
      `- ${ch.name} (${ch.direction}): ${ch.destination ?? "not used by this instance"}${ch.setBy && ch.destination ? ` (set by ${ch.setBy})` : ""}. Carries ${ch.carries}.`,
    );
  }
  lines.push(
    "",
    "## Sealed state",
    "",
    r.stateStore.host
      ? `Kept in a shared ${r.stateStore.kind} at ${r.stateStore.host} (operator setting AUDITOR_STATE_URL). It receives ${r.stateStore.receives}.`
      : `Kept on this instance: ${r.stateStore.receives}.`,
  );
  lines.push(
    "",
    "## Sessions",
    "",
    `Creation: ${r.sessions.creation}. Endpoints: ${r.sessions.endpoints.join(", ")}.`,
    "",
    "Tools a session may call:",
  );
  for (const t of r.sessions.tools) lines.push(`- ${t.name} (${t.kind}): ${t.description}`);
  lines.push("", `Session ids: ${r.sessionIds.rule} ${r.sessionIds.holderCanSee}.`);
  lines.push("", "## Observed egress", "");
  if (r.observedEgress.length === 0) lines.push("No outbound calls since start-up.");
  for (const h of r.observedEgress) {
    lines.push(
      `- ${h.scheme}://${h.host}: ${h.calls} calls, ${h.blocked} blocked attempts, ${h.requestBytes} bytes sent, ${h.responseBytes} bytes received, last ${h.lastSeen}`,
    );
  }
  lines.push(
    "",
    `Egress log ${code(r.egressLog.instanceId)}: head seq ${r.egressLog.head.seq}, digest ${code(r.egressLog.head.digest)}; every entry at GET ${r.egressLog.url}.`,
  );
  lines.push("", "## Claims and how each is known", "");
  for (const c of r.claims) lines.push(`- **${c.knownBy}**: ${c.claim}. ${c.how}.`);
  lines.push("", "## Definitions", "");
  for (const [name, text] of Object.entries(r.definitions)) lines.push(`- **${name}**: ${text}`);
  lines.push("", "## How to verify", "");
  for (const [i, step] of r.verification.entries()) lines.push(`${i + 1}. ${step}`);
  if (r.binding) {
    lines.push(
      "",
      "## Fresh binding",
      "",
      `Nonce ${code(r.binding.nonce)}, report sha256 ${code(r.binding.reportSha256)} (of the JSON form), quote report data ${code(r.binding.reportData)}, attested: ${r.binding.attested}.`,
    );
  }
  return lines.join("\n") + "\n";
}
