// The server's own crypto (the browser-safe parts live in sdk/crypto): keys derived from the
// TEE's secrets, native envelopes, and comparing secrets without leaking them.
export { deriveP256KeyPair, deriveSymmetricKey, signP256, type P256KeyPair } from "./keys.ts";
export { openEnvelopeNative, openSealedNative, sealEnvelopeNative } from "./native-envelope.ts";
export {
  agreeEphemeralNative,
  deriveP256KeyPairNative,
  hkdfSha256Native,
  signP256Native,
} from "./native-keys.ts";
export { secretEquals } from "./secret-equals.ts";
