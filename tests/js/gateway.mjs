// A gateway's half of the protocol in plain Node.js (node:crypto), for the scripted-fetch tests
// of tests/js: decapsulates the SDK's requests and seals answers (docs/PROTOCOL.md §4), so a test
// can script any answer, valid or hostile, and knows every secret of the exchange (to look for it
// in the wasm's memory). One suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
import crypto from "node:crypto";

const utf8 = (s) => Buffer.from(s, "utf8");
const be = (n, width) => {
  const b = Buffer.alloc(width);
  b.writeUIntBE(n, 0, width);
  return b;
};
const hmac = (key, data) => crypto.createHmac("sha256", key).update(data).digest();
/** RFC 5869 Extract and Expand (HKDF-SHA256). */
const extract = (salt, ikm) => hmac(salt.length ? salt : Buffer.alloc(32), ikm);
function expand(prk, info, length) {
  let t = Buffer.alloc(0);
  let out = Buffer.alloc(0);
  for (let i = 1; out.length < length; i++) {
    t = hmac(prk, Buffer.concat([t, info, Buffer.from([i])]));
    out = Buffer.concat([out, t]);
  }
  return out.subarray(0, length);
}
// RFC 9180 §4: LabeledExtract / LabeledExpand with a suite id.
const KEM_SUITE = Buffer.concat([utf8("KEM"), be(0x20, 2)]);
const HPKE_SUITE = Buffer.concat([utf8("HPKE"), be(0x20, 2), be(1, 2), be(3, 2)]);
const labeledExtract = (suite, salt, label, ikm) => extract(salt, Buffer.concat([utf8("HPKE-v1"), suite, utf8(label), ikm]));
const labeledExpand = (suite, prk, label, info, length) =>
  expand(prk, Buffer.concat([be(length, 2), utf8("HPKE-v1"), suite, utf8(label), info]), length);

const INNER = { exchange: "application/vnd.h5-access.exchange", call: "application/vnd.h5-access.call" };
export const MEDIA = { keys: "application/ohttp-keys", exchange: "application/vnd.h5-access.exchange-res", call: "application/vnd.h5-access.call-res" };

/** A gateway key pair with key id `keyId`; `.keys` is its `application/ohttp-keys` list. */
export function gatewayKey(keyId = 1) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("x25519");
  const pk = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  const config = Buffer.concat([Buffer.from([keyId]), be(0x20, 2), pk, be(4, 2), be(1, 2), be(3, 2)]);
  return { privateKey, pk, keys: new Uint8Array(Buffer.concat([be(config.length, 2), config])) };
}

/**
 * Opens an encapsulated request (RFC 9458 §4.3) on `channel` ("exchange" or "call"). Returns the
 * plaintext, and every secret of its HPKE context (`secrets`, hex-free Buffers) and the exported
 * session and response secrets, for `seal` and for memory scans.
 */
export function open(key, channel, body) {
  const b = Buffer.from(body);
  const hdr = b.subarray(0, 7);
  const enc = Buffer.from(b.subarray(7, 39));
  const ct = b.subarray(39);
  const pub = crypto.createPublicKey({ key: { kty: "OKP", crv: "X25519", x: enc.toString("base64url") }, format: "jwk" });
  const dh = crypto.diffieHellman({ privateKey: key.privateKey, publicKey: pub });
  const sharedSecret = labeledExpand(KEM_SUITE, labeledExtract(KEM_SUITE, Buffer.alloc(0), "eae_prk", dh), "shared_secret", Buffer.concat([enc, key.pk]), 32);
  const info = Buffer.concat([utf8(INNER[channel] + " request"), Buffer.from([0]), hdr]);
  const context = Buffer.concat([
    Buffer.from([0]),
    labeledExtract(HPKE_SUITE, Buffer.alloc(0), "psk_id_hash", Buffer.alloc(0)),
    labeledExtract(HPKE_SUITE, Buffer.alloc(0), "info_hash", info),
  ]);
  const scheduleSecret = labeledExtract(HPKE_SUITE, sharedSecret, "secret", Buffer.alloc(0));
  const aeadKey = labeledExpand(HPKE_SUITE, scheduleSecret, "key", context, 32);
  const baseNonce = labeledExpand(HPKE_SUITE, scheduleSecret, "base_nonce", context, 12);
  const exporterSecret = labeledExpand(HPKE_SUITE, scheduleSecret, "exp", context, 32);
  const decipher = crypto.createDecipheriv("chacha20-poly1305", aeadKey, baseNonce, { authTagLength: 16 });
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  const plaintext = Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]);
  const exp = (label) => labeledExpand(HPKE_SUITE, exporterSecret, "sec", utf8(label), 32);
  const responseSecret = exp(INNER[channel] + " response");
  return {
    plaintext,
    enc,
    responseSecret,
    sessionSecret: exp(INNER.exchange + " session"),
    secrets: { dh, sharedSecret, scheduleSecret, aeadKey, exporterSecret, responseSecret },
  };
}

/** Seals `plaintext` as the one answer to the request `opened` (RFC 9458 §4.4). */
export function seal(opened, plaintext) {
  const responseNonce = crypto.randomBytes(32);
  const prk = extract(Buffer.concat([opened.enc, responseNonce]), opened.responseSecret);
  const cipher = crypto.createCipheriv("chacha20-poly1305", expand(prk, utf8("key"), 32), expand(prk, utf8("nonce"), 12), { authTagLength: 16 });
  const ct = Buffer.concat([cipher.update(Buffer.from(plaintext)), cipher.final(), cipher.getAuthTag()]);
  return new Uint8Array(Buffer.concat([responseNonce, ct]));
}

/** The exchange request's fields (docs/PROTOCOL.md §4.5). */
export function exchangeRequest(pt) {
  let o = 25;
  const product = pt.subarray(o + 1, (o += 1 + pt[o])).toString();
  const at = pt.subarray(o + 2, o + 2 + pt.readUInt16BE(o)).toString();
  return { product, at };
}

/** An issued exchange response: VT, `exp` (seconds, a BigInt or number), page JSON text. */
export function issued(vt, page, exp = Math.floor(Date.now() / 1000) + 900) {
  const e = Buffer.alloc(8);
  e.writeBigUInt64BE(BigInt(exp));
  const v = utf8(vt);
  const p = utf8(page);
  return Buffer.concat([Buffer.from([1, 0]), e, be(v.length, 2), v, be(p.length, 4), p]);
}

/** An ok call response carrying `body` (JSON text). */
export function callOk(body) {
  const b = utf8(body);
  return Buffer.concat([Buffer.from([1, 0]), be(b.length, 4), b]);
}
