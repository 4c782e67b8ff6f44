// The size reference: what a page needs from hpke-js to do what the SDK's exchange does on the
// HPKE side — one HPKE seal + export (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305, base mode). Bundled and minified by ref-size.mjs.
import { CipherSuite, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";

export async function sealAndExport(publicKey, info, plaintext, exporterContext) {
  const suite = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Chacha20Poly1305(),
  });
  const recipientPublicKey = await suite.kem.deserializePublicKey(publicKey);
  const ctx = await suite.createSenderContext({ recipientPublicKey, info });
  const ct = await ctx.seal(plaintext);
  const secret = await ctx.export(exporterContext, 32);
  return { enc: ctx.enc, ct, secret };
}
