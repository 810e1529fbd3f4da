// An encrypted-session client written only from DESIGN "Encryption", with WebCrypto alone: it
// shares no code with the server (no sdk/crypto), so a test that passes with it shows an
// independent client interoperates byte for byte.

const te = new TextEncoder();
const td = new TextDecoder();

const b64urlDecode = (s: string) =>
  Uint8Array.from(
    atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4)),
    (c) => c.charCodeAt(0),
  );
const b64urlEncode = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const b64Decode = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const b64Encode = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
};
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

export class SpecRefusal extends Error {
  override name = "SpecRefusal";
}

export interface SpecKeys {
  s2c: CryptoKey;
  c2s: CryptoKey;
  reply: CryptoKey;
  /** Raw key bytes, for tests that forge envelopes a man in the middle could not. */
  raw: { s2c: Uint8Array; c2s: Uint8Array; reply: Uint8Array };
  token: string;
}

export class SpecClient {
  private constructor(
    private readonly pair: CryptoKeyPair,
    readonly publicKey: Uint8Array,
    private readonly pinnedIdentityKey: Uint8Array,
  ) {}

  /** A fresh ephemeral key; `pinnedIdentityKey` is the server identity key the client trusts. */
  static async create(pinnedIdentityKeyB64: string): Promise<SpecClient> {
    const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
      "deriveBits",
    ])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return new SpecClient(pair, publicKey, b64urlDecode(pinnedIdentityKeyB64));
  }

  get publicKeyB64(): string {
    return b64urlEncode(this.publicKey);
  }

  /** Checks session_init against the pinned key and derives the session keys; refuses otherwise. */
  async handshake(
    sessionId: string,
    encryption: { enabled: boolean; kid?: string; serverPublicKey?: string; signature?: string },
  ): Promise<SpecKeys> {
    if (!encryption.enabled || !encryption.serverPublicKey || !encryption.signature)
      throw new SpecRefusal("the server did not encrypt");
    const serverPub = b64urlDecode(encryption.serverPublicKey);
    const th = new Uint8Array(
      await crypto.subtle.digest(
        "SHA-256",
        cat(
          te.encode("auditor/handshake/v1"),
          new Uint8Array([0]),
          te.encode(sessionId),
          new Uint8Array([0]),
          this.publicKey,
          serverPub,
        ),
      ),
    );
    const identity = await crypto.subtle.importKey(
      "raw",
      buf(this.pinnedIdentityKey),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      identity,
      buf(b64urlDecode(encryption.signature)),
      th,
    );
    if (!ok) throw new SpecRefusal("the handshake is not signed by the pinned identity key");
    const serverKey = await crypto.subtle.importKey(
      "raw",
      buf(serverPub),
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const shared = await crypto.subtle.deriveBits(
      { name: "ECDH", public: serverKey },
      this.pair.privateKey,
      256,
    );
    const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
    const derive = async (info: string) =>
      new Uint8Array(
        await crypto.subtle.deriveBits(
          { name: "HKDF", hash: "SHA-256", salt: th, info: te.encode(info) },
          ikm,
          256,
        ),
      );
    const raw = {
      s2c: await derive("auditor/v1 s2c"),
      c2s: await derive("auditor/v1 c2s"),
      reply: await derive("auditor/v1 reply"),
    };
    const aes = (k: Uint8Array) =>
      crypto.subtle.importKey("raw", buf(k), "AES-GCM", false, ["encrypt", "decrypt"]);
    return {
      s2c: await aes(raw.s2c),
      c2s: await aes(raw.c2s),
      reply: await aes(raw.reply),
      raw,
      token: b64urlEncode(await derive("auditor/v1 token")),
    };
  }
}

const nonceFor = (seq: number) => {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(seq));
  return n;
};
const aadFor = (sessionId: string, seq: number, kid: string) =>
  te.encode(`auditor/v1|${sessionId}|${seq}|${kid}`);

export interface EncLine {
  protocolVersion: 1;
  sessionId: string;
  seq: number;
  type: "enc";
  payload: { kid: string; nonceB64: string; ciphertextB64: string };
}

export async function seal(
  key: CryptoKey,
  sessionId: string,
  seq: number,
  kid: string,
  inner: unknown,
): Promise<EncLine> {
  const nonce = nonceFor(seq);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aadFor(sessionId, seq, kid) },
      key,
      te.encode(JSON.stringify(inner)),
    ),
  );
  return {
    protocolVersion: 1,
    sessionId,
    seq,
    type: "enc",
    payload: { kid, nonceB64: b64Encode(nonce), ciphertextB64: b64Encode(ct) },
  };
}

/** Opens a line that must be exactly `expectedSeq`; refuses anything else. */
export async function open(
  key: CryptoKey,
  line: EncLine,
  expectedSeq: number,
  kid: string,
): Promise<Record<string, unknown>> {
  if (line.type !== "enc" || line.seq !== expectedSeq)
    throw new SpecRefusal(`expected seq ${expectedSeq}, got ${line.seq}`);
  if (line.payload.kid !== kid) throw new SpecRefusal("wrong kid");
  if (b64Encode(nonceFor(expectedSeq)) !== line.payload.nonceB64)
    throw new SpecRefusal("wrong nonce");
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: nonceFor(expectedSeq),
        additionalData: aadFor(line.sessionId, expectedSeq, kid),
      },
      key,
      buf(b64Decode(line.payload.ciphertextB64)),
    );
  } catch {
    throw new SpecRefusal("bad tag");
  }
  const inner = JSON.parse(td.decode(plain));
  if (inner.seq !== expectedSeq) throw new SpecRefusal("inner seq differs");
  return inner;
}

/** A sealed invoke request per the spec, and the means to open its one response. */
export async function sealInvoke(
  fn: string,
  input: unknown,
  invokeKeyB64: string,
  kid: string,
  ts = Date.now(),
) {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const epk = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const invokeKey = b64urlDecode(invokeKeyB64);
  const th = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      cat(
        te.encode("auditor/invoke/v1"),
        new Uint8Array([0]),
        te.encode(fn),
        new Uint8Array([0]),
        epk,
        invokeKey,
      ),
    ),
  );
  const server = await crypto.subtle.importKey(
    "raw",
    buf(invokeKey),
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const ikm = await crypto.subtle.importKey(
    "raw",
    await crypto.subtle.deriveBits({ name: "ECDH", public: server }, pair.privateKey, 256),
    "HKDF",
    false,
    ["deriveKey"],
  );
  const aes = (info: string) =>
    crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: th, info: te.encode(info) },
      ikm,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  const [req, res] = [await aes("auditor/v1 req"), await aes("auditor/v1 res")];
  const iv = new Uint8Array(12);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv },
      req,
      te.encode(JSON.stringify({ ts, input })),
    ),
  );
  return {
    body: { v: 1, kid, epk: b64urlEncode(epk), ct: b64urlEncode(ct) },
    async open(responseCt: string): Promise<unknown> {
      return JSON.parse(
        td.decode(
          await crypto.subtle.decrypt({ name: "AES-GCM", iv }, res, buf(b64urlDecode(responseCt))),
        ),
      );
    },
  };
}
