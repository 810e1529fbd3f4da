// What a verifier needs besides the facts: every formula exactly (definitions) and numbered
// steps that name the URL to fetch and what to compute, so a person or an AI agent with curl and
// a SHA-256/ECDSA library can check each claim from the service alone.

export const DEFINITIONS: Record<string, string> = {
  jcs: "Canonical JSON is RFC 8785 (JCS): object members sorted by their names' UTF-16 code units, no whitespace, strings and numbers as ECMAScript's JSON.stringify writes them; lone surrogates, sparse arrays, non-finite numbers and values JSON cannot carry are refused, never encoded.",
  keys: "Keys are SEC1 uncompressed P-256 points (65 bytes: 0x04 ‖ x ‖ y), base64url without padding. kid = the first 16 characters of base64url(SHA-256(identityKey bytes)).",
  statementReportData:
    'The TDX quote\'s report data (bytes 568..631 of a v4 quote) = SHA-512("auditor-attestation-v1:" ‖ JCS(statement)), for the statement GET /attestation returns (with the nonce you sent).',
  statementSha256:
    "statementSha256 = SHA-256(JCS(statement without its nonce)), hex: what every receipt names.",
  sourceTree:
    "GET /source lists every file that determines the binary, sorted by path, each { path, sha256, bytes }, sha256 = SHA-256 of the exact bytes GET /source/<path> returns. treeSha256 = SHA-256(JCS(files)), hex, and equals statement.source.treeSha256. commit is the git commit the build came from (-dirty: the tree differed from it); repository is package.json's repository field.",
  functionSources:
    "A function's sources are paths of GET /source; sourceSha256 = SHA-256(JCS(sources)), sources = [{ path, sha256 }] as listed.",
  reportBinding:
    'With ?nonce=<hex>: binding.reportSha256 = SHA-256(JCS(the JSON report without binding)); binding.reportData = SHA-512("auditor-report-v1:" ‖ JCS({ nonce, reportSha256 })) = the quote\'s report data. The markdown form is prose: hash the JSON form (Accept: application/json) fetched with the same nonce.',
  egressLogChain:
    "GET /egress-log?fromSeq=N&limit=M (M ≤ 1000) → { instanceId, head: { seq, digest }, entries }. Each entry has seq (from 1, per instance), prev (the previous entry's digest; 64 zeros for seq 1) and digest = SHA-256(JCS(entry without digest)), hex. Entries older than the in-memory window answer 410 with the oldest seq kept.",
  receipt:
    'Every /invoke answer carries a receipt { v, kid, app, fn, ts, status, requestSha256, responseSha256, egress: [{ seq, digest, host, method, path, status, allowed }], logHead, statementSha256 }: requestSha256/responseSha256 = SHA-256 of the exact request and response body bytes (sealed calls: the decrypted request plaintext and the response plaintext), egress = every egress log entry the call caused (empty: nothing left the TEE for this call). signature = ECDSA P-256 SHA-256 over "auditor-receipt-v1:" ‖ JCS(receipt) by the identity key, 64-byte r‖s, base64url. Plain calls: header auditor-receipt = base64url(JCS({ receipt, signature })); sealed calls: body { v: 1, ct, rct }, rct = that JSON sealed under the response key with nonce 11 zero bytes ‖ 0x01.',
  sessionIdRule:
    "session_id (generate-prompt, dj, youtube-metadata) must be a UUID (any version) or at least 22 characters of [A-Za-z0-9_-]; anything else is 400 naming session_id.",
};

export function verificationSteps(app: string, attested: boolean): string[] {
  const dev = attested
    ? ""
    : " This server runs in dev mode: it has no TDX quote, so none of what follows is attested; the steps only show it is consistent with itself.";
  return [
    `GET /attestation?nonce=<32 random hex>. The statement's nonce must be yours. Compute SHA-512("auditor-attestation-v1:" + JCS(statement)): it must equal the quote's report data (bytes 568..631 of the hex-decoded quote).${dev}`,
    "Verify the quote itself: its Intel DCAP signature chain (dcap-qvl, or `auditor verify`), MRTD and RTMR0-2 against the dstack OS image named by vmConfig.os_image_hash, and the event log replayed into RTMR3, which must carry the statement's appId, composeHash and instanceId. `auditor verify <url>` does all of this and says, line by line, what is proven and what is only stated.",
    "GET /source. SHA-256(JCS(files)) must equal statement.source.treeSha256; for each file, SHA-256 of the body of GET /source/<path> must equal its sha256. Clone statement.source.repository at statement.source.commit: the same paths hash the same.",
    "At that commit, npm ci && npm run build (linux/amd64): sha256(dist/auditor) must equal statement.binarySha256 (npm run image gives the image digest the compose hash pins).",
    `GET /report/${app}?nonce=<32 random hex> (Accept: application/json). report.attestation must equal the statement of step 1 without its nonce; SHA-256(JCS(report without binding)) must equal binding.reportSha256, and SHA-512("auditor-report-v1:" + JCS({ nonce, reportSha256 })) binding.reportData and the binding quote's report data.`,
    "For each function, sources are GET /source paths: their sha256 must match step 3, and sourceSha256 = SHA-256(JCS(sources)). Read them: all network access goes through ctx.fetch; the egress list is the manifest's.",
    "egressPolicy is every origin a function may reach; functions[].egress[].enabled says which it uses with the configuration it runs with now, and configuration says what analytics, stores, session creation, rate limits and logs are doing (measured-code: stated by the attested binary).",
    "GET /egress-log (from the oldest kept, then fromSeq=<next> page by page): each entry's digest = SHA-256(JCS(entry without digest)), each prev = the previous digest (64 zeros for seq 1); the last must equal head.digest.",
    'Make a call, e.g. POST /invoke/generate-prompt with a fresh UUID session_id. Decode the auditor-receipt header (base64url → JSON { receipt, signature }); verify signature (ECDSA P-256, SHA-256, r‖s) over "auditor-receipt-v1:" + JCS(receipt) with statement.identityKey; requestSha256 and responseSha256 must be SHA-256 of the exact bytes you sent and received, statementSha256 = SHA-256(JCS(statement without nonce)); every egress entry must be in GET /egress-log with that seq and digest. An empty egress list means nothing left the TEE for that call.',
  ];
}
