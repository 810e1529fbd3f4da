// The same report as prose, for people and for agents that prefer text.
import type { Report } from "./build.ts";

export function reportMarkdown(r: Report): string {
  const lines: string[] = [
    `# Data-flow report: ${r.app}`,
    "",
    `Generated ${r.generatedAt}. TEE provider: ${r.attestation.tee.provider}. Identity key id: ${r.attestation.kid}.`,
    `Binary sha256: ${r.binarySha256 ?? "none (running from source)"}.`,
    "",
    "## Functions",
  ];
  for (const f of r.functions) {
    lines.push("", `### ${f.name}`, "", f.description, "", `Source digest: \`${f.sourceSha256}\``);
    for (const s of f.sources) lines.push(`- \`${s.path}\`: \`${s.sha256}\``);
    lines.push("", "May send data to:");
    for (const e of f.egress) {
      const override = e.overriddenBy ? ` **(operator override via ${e.overriddenBy}; declared ${e.declaredUrl})**` : "";
      lines.push(`- ${e.origin} (${e.url}): ${e.purpose}${override}`);
    }
    lines.push("", `Secrets it can read (names only): ${f.secrets.join(", ") || "none"}.`);
    if (f.sessionTool) lines.push("", `AgentScript sessions may also call it as \`callTool("${f.name}", input)\`, under the same policy.`);
    lines.push("", "Input schema:", "```json", JSON.stringify(f.input, null, 2), "```", "Output schema:", "```json", JSON.stringify(f.output, null, 2), "```");
  }
  lines.push("", "## Sealed state", "", r.stateStore.host ? `Kept in a shared ${r.stateStore.kind} at ${r.stateStore.host} (operator setting AUDITOR_STATE_URL). It receives ${r.stateStore.receives}.` : `Kept on this instance: ${r.stateStore.receives}.`);
  lines.push("", "## Other channels", "", "Besides function egress, the process opens only these; every other network API refuses and is recorded.");
  for (const ch of r.channels) {
    lines.push(`- ${ch.name} (${ch.direction}): ${ch.destination ?? "not used by this instance"}${ch.setBy && ch.destination ? ` (set by ${ch.setBy})` : ""}. Carries ${ch.carries}.`);
  }
  lines.push("", "## Observed egress");
  if (r.observedEgress.length === 0) lines.push("", "No outbound calls since start-up.");
  for (const h of r.observedEgress) {
    lines.push(`- ${h.scheme}://${h.host}: ${h.calls} calls, ${h.blocked} blocked attempts, ${h.requestBytes} bytes sent, ${h.responseBytes} bytes received, last ${h.lastSeen}`);
  }
  lines.push("", `Egress log head digest: \`${r.egressLog.headDigest}\` (${r.egressLog.recent.length} recent entries in the JSON report).`);
  lines.push("", "## Claims and how each is known");
  for (const c of r.claims) lines.push(`- **${c.knownBy}**: ${c.claim}. ${c.how}.`);
  lines.push("", "## How to verify");
  r.verification.forEach((step, i) => lines.push(`${i + 1}. ${step}`));
  if (r.binding) {
    lines.push("", "## Fresh binding", "", `Nonce \`${r.binding.nonce}\`, report sha256 \`${r.binding.reportSha256}\`, quote report data \`${r.binding.reportData}\`, attested: ${r.binding.attested}.`);
  }
  return lines.join("\n") + "\n";
}
