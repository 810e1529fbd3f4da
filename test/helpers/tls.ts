// A throwaway self-signed certificate for 127.0.0.1 (openssl), so tests can run real https
// upstreams on loopback and trust exactly them.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoopbackCert {
  cert: string;
  key: string;
}

export function loopbackCert(): LoopbackCert {
  const dir = mkdtempSync(join(tmpdir(), "auditor-tls-"));
  try {
    const args = [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
    ];
    const made = Bun.spawnSync(
      [
        "openssl",
        ...args,
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stderr: "pipe" },
    );
    if (made.exitCode !== 0)
      throw new Error(`openssl could not make a test certificate: ${made.stderr.toString()}`);
    return {
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
      key: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
