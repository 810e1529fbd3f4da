// Reads Prometheus text exposition with the Prometheus project's own Python client parser
// (Debian's python3-prometheus-client; .ci/run installs it): an independent reader of what
// GET /metrics serves. Each family with its type and samples.
import { existsSync } from "node:fs";

const PYTHON = "/usr/bin/python3";
const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "documentation": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

export interface Family {
  name: string;
  type: string;
  documentation: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export const prometheusParserAvailable =
  existsSync(PYTHON) &&
  Bun.spawnSync([PYTHON, "-c", "import prometheus_client"], { stderr: "ignore" }).exitCode === 0;

export function parsePrometheusText(text: string): Family[] {
  const run = Bun.spawnSync([PYTHON, "-c", SCRIPT], {
    stdin: new TextEncoder().encode(text),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (run.exitCode !== 0)
    throw new Error(
      `the Prometheus parser refused the text: ${run.stderr.toString().trim().split("\n").at(-1)}`,
    );
  return JSON.parse(run.stdout.toString()) as Family[];
}
