// AES-256-GCM through WebCrypto (native in Bun and in browsers). Keys are imported once and
// cached per raw key, since importing costs more than sealing a small message.
const cache = new WeakMap<Uint8Array, Promise<CryptoKey>>();

/** WebCrypto's types want ArrayBuffer-backed views; ours always are. */
const view = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

const importKey = (raw: Uint8Array) => {
  let key = cache.get(raw);
  if (!key) {
    if (raw.length !== 32) throw new Error("AES-256-GCM needs a 32-byte key");
    key = crypto.subtle.importKey("raw", view(raw), "AES-GCM", false, ["encrypt", "decrypt"]);
    cache.set(raw, key);
  }
  return key;
};

/** Ciphertext with the 16-byte tag appended. */
export async function aesGcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Promise<Uint8Array> {
  const params: AesGcmParams = {
    name: "AES-GCM",
    iv: view(nonce),
    tagLength: 128,
    ...(aad ? { additionalData: view(aad) } : {}),
  };
  return new Uint8Array(await crypto.subtle.encrypt(params, await importKey(key), view(plaintext)));
}

/** The one error every failed open raises: no detail, so no oracle. */
export class DecryptError extends Error {
  override name = "DecryptError";
  constructor() {
    super("the message could not be decrypted");
  }
}

export async function aesGcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad?: Uint8Array,
): Promise<Uint8Array> {
  if (ciphertext.length < 16) throw new DecryptError();
  const params: AesGcmParams = {
    name: "AES-GCM",
    iv: view(nonce),
    tagLength: 128,
    ...(aad ? { additionalData: view(aad) } : {}),
  };
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(params, await importKey(key), view(ciphertext)),
    );
  } catch {
    throw new DecryptError();
  }
}
