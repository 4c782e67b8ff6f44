// The speed reference: one exchange's client crypto with hpke-js, the same work as the SDK's
// (bench/wasm-client): HPKE SetupBaseS + Seal + the two exports of PROTOCOL.md §4.1/§4.4, then
// the RFC 9458 §4.4 response key schedule (HKDF-SHA256 with WebCrypto HMAC: hpke-js's
// HkdfSha256.extract only takes a 32-byte salt, ours is enc ‖ response_nonce = 64 bytes) and a
// ChaCha20-Poly1305 open with @hpke/chacha20poly1305. Bundled for the browser by esbuild.
import { CipherSuite, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";

const te = new TextEncoder();
const RESPONSE_LABEL = te.encode("application/vnd.h5-access.exchange response");
const SESSION_LABEL = te.encode("application/vnd.h5-access.exchange session");
const REQUEST_LABEL = te.encode("application/vnd.h5-access.exchange request");
const KEY_INFO = te.encode("key\x01");
const NONCE_INFO = te.encode("nonce\x01");
const EMPTY = new Uint8Array(0);

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function hmac(subtle, key, data) {
  const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, data));
}

/** Prepares a client for the gateway key `publicKey` (key id `keyId`); the key is imported
 *  once, as the SDK parses its key configuration once. `ikmE` fixes the ephemeral key (RFC 9180
 *  DeriveKeyPair input) so the fixed gateway response opens. */
export async function makeClient({ publicKey, keyId, ikmE, plaintext }) {
  const suite = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Chacha20Poly1305(),
  });
  const aead = new Chacha20Poly1305();
  const subtle = globalThis.crypto.subtle;
  const recipientPublicKey = await suite.kem.deserializePublicKey(publicKey);
  const hdr = new Uint8Array([keyId, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03]);
  const info = concat(REQUEST_LABEL, new Uint8Array([0]), hdr);
  /** One exchange: returns the encapsulated request and the opened response plaintext. */
  return async function exchange(response) {
    const ctx = await suite.createSenderContext({ recipientPublicKey, info, ekm: ikmE });
    const ct = new Uint8Array(await ctx.seal(plaintext));
    const enc = new Uint8Array(ctx.enc);
    const secret = new Uint8Array(await ctx.export(RESPONSE_LABEL, 32));
    await ctx.export(SESSION_LABEL, 32);
    const request = concat(hdr, enc, ct);
    const prk = await hmac(subtle, concat(enc, response.subarray(0, 32)), secret);
    const key = await hmac(subtle, prk, KEY_INFO);
    const nonce = (await hmac(subtle, prk, NONCE_INFO)).subarray(0, 12);
    const pt = await aead.createEncryptionContext(key).open(nonce, response.subarray(32), EMPTY);
    return { request, plaintext: new Uint8Array(pt) };
  };
}
