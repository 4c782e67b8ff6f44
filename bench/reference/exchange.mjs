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

/** The suite, the gateway key (imported once, as the SDK parses its key configuration once),
 *  the request header and the HPKE `info` (docs/PROTOCOL.md §4.1). */
async function setup(publicKey, keyId) {
  const suite = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Chacha20Poly1305(),
  });
  const recipientPublicKey = await suite.kem.deserializePublicKey(publicKey);
  const hdr = new Uint8Array([keyId, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03]);
  const info = concat(REQUEST_LABEL, new Uint8Array([0]), hdr);
  return { suite, aead: new Chacha20Poly1305(), subtle: globalThis.crypto.subtle, recipientPublicKey, hdr, info };
}

/** RFC 9458 §4.4: the response key and nonce from `secret`, `enc` and the response nonce, then
 *  the AEAD open of the rest of `response`. */
async function openResponse({ aead, subtle }, enc, secret, response) {
  const prk = await hmac(subtle, concat(enc, response.subarray(0, 32)), secret);
  const key = await hmac(subtle, prk, KEY_INFO);
  const nonce = (await hmac(subtle, prk, NONCE_INFO)).subarray(0, 12);
  return new Uint8Array(await aead.createEncryptionContext(key).open(nonce, response.subarray(32), EMPTY));
}

/** Prepares a client for the gateway key `publicKey` (key id `keyId`); the key is imported
 *  once, as the SDK parses its key configuration once. `ikmE` fixes the ephemeral key (RFC 9180
 *  DeriveKeyPair input) so the fixed gateway response opens. */
export async function makeClient({ publicKey, keyId, ikmE, plaintext }) {
  const c = await setup(publicKey, keyId);
  const { suite, recipientPublicKey, hdr, info } = c;
  /** One exchange: returns the encapsulated request and the opened response plaintext. */
  return async function exchange(response) {
    const ctx = await suite.createSenderContext({ recipientPublicKey, info, ekm: ikmE });
    const ct = new Uint8Array(await ctx.seal(plaintext));
    const enc = new Uint8Array(ctx.enc);
    const secret = new Uint8Array(await ctx.export(RESPONSE_LABEL, 32));
    await ctx.export(SESSION_LABEL, 32);
    const request = concat(hdr, enc, ct);
    return { request, plaintext: await openResponse(c, enc, secret, response) };
  };
}

const td = new TextDecoder("utf-8", { fatal: true });
const EX_REQ = "application/vnd.h5-access.exchange-req";
const EX_RES = "application/vnd.h5-access.exchange-res";

/**
 * The like-for-like reference for the shipped package's path (`H5Client.exchange`): the same
 * exchange as a page would write it on hpke-js alone. A fresh random ephemeral key; the
 * exchange request plaintext encoded here (docs/PROTOCOL.md §4.2: version, 16-byte random
 * request id, `client_time`, product, AT); `fetch(new Request(...))` with the SDK's method,
 * headers and options under a timeout (AbortController + setTimeout); the answer's status and
 * media type checked, its body read, opened as `makeClient` does, the VT, `exp` and page taken
 * out (§4.3) and the page parsed by `JSON.parse`. No key refetch or retry logic (the SDK's
 * costs nothing on this path either: a pinned key configuration and a 200 answer).
 */
export async function makePackageClient({ publicKey, keyId, gateway, timeoutMs = 10000 }) {
  const c = await setup(publicKey, keyId);
  const { suite, recipientPublicKey, hdr, info } = c;
  const url = gateway.replace(/\/+$/, "") + "/v1/exchange";
  return async function exchange(accessToken, product) {
    const p = te.encode(product);
    const at = te.encode(accessToken);
    const plaintext = new Uint8Array(1 + 16 + 8 + 1 + p.length + 2 + at.length);
    const view = new DataView(plaintext.buffer);
    plaintext[0] = 1;
    globalThis.crypto.getRandomValues(plaintext.subarray(1, 17));
    view.setBigUint64(17, BigInt(Math.floor(Date.now() / 1000)));
    plaintext[25] = p.length;
    plaintext.set(p, 26);
    view.setUint16(26 + p.length, at.length);
    plaintext.set(at, 28 + p.length);
    const ctx = await suite.createSenderContext({ recipientPublicKey, info });
    const ct = new Uint8Array(await ctx.seal(plaintext));
    const enc = new Uint8Array(ctx.enc);
    const secret = new Uint8Array(await ctx.export(RESPONSE_LABEL, 32));
    await ctx.export(SESSION_LABEL, 32);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await fetch(
        new Request(url, {
          method: "POST",
          headers: { "content-type": EX_REQ, accept: EX_RES },
          body: concat(hdr, enc, ct),
          cache: "no-store",
          credentials: "omit",
          redirect: "error",
          signal: controller.signal,
        }),
      );
      if (res.status !== 200 || res.headers.get("content-type") !== EX_RES) throw new Error("not an exchange answer");
      const pt = await openResponse(c, enc, secret, new Uint8Array(await res.arrayBuffer()));
      const v = new DataView(pt.buffer, pt.byteOffset, pt.byteLength);
      if (pt[0] !== 1 || pt[1] !== 0) throw new Error("not issued");
      const exp = Number(v.getBigUint64(2));
      const vtLen = v.getUint16(10);
      const issuedToken = pt.slice(12, 12 + vtLen);
      const pageLen = v.getUint32(12 + vtLen);
      const page = JSON.parse(td.decode(pt.subarray(16 + vtLen, 16 + vtLen + pageLen)));
      return { issuedToken, expiresAt: exp * 1000, page };
    } finally {
      clearTimeout(timer);
    }
  };
}
