//! Encapsulated requests and responses: the RFC 9458 §4.3 / §4.4 construction with this
//! protocol's own labels (RFC 9458 §4.6).

use alloc::vec::Vec;

use chacha20poly1305::aead::{Aead as _, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::error::EncapsulationError;
use super::hpke::setup_base_sender_with_ikm;
use super::key_config::{KeyConfig, KeyPair};
use super::params::{
    AEAD_ID, HEADER_LEN, KDF_ID, KEM_ID, N_ENC, N_K, N_N, N_T, RESPONSE_NONCE_LEN,
    SESSION_SECRET_LEN,
};
use super::session::{SessionSecret, SESSION_SECRET_LABEL};

pub use super::params::{MAX_PLAINTEXT_LEN, MAX_RESPONSE_LEN};

/// The two message families. Each has its own media type, and so its own HPKE `info` label and
/// response export label, so a message of one family can never be opened as the other
/// (RFC 9458 §4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// The AT→VT exchange.
    Exchange,
    /// A service call made with a VT.
    Call,
}

impl Channel {
    /// Media type of the plaintext carried inside (the RFC 9458 "message/bhttp" analogue).
    pub const fn inner_media_type(self) -> &'static str {
        match self {
            Channel::Exchange => "application/vnd.h5-access.exchange",
            Channel::Call => "application/vnd.h5-access.call",
        }
    }

    /// HTTP `Content-Type` of an encapsulated request (the RFC 9458 `message/ohttp-req` analogue).
    pub const fn request_media_type(self) -> &'static str {
        match self {
            Channel::Exchange => "application/vnd.h5-access.exchange-req",
            Channel::Call => "application/vnd.h5-access.call-req",
        }
    }

    /// HTTP `Content-Type` of an encapsulated response (the RFC 9458 `message/ohttp-res` analogue).
    pub const fn response_media_type(self) -> &'static str {
        match self {
            Channel::Exchange => "application/vnd.h5-access.exchange-res",
            Channel::Call => "application/vnd.h5-access.call-res",
        }
    }

    /// Whether `content_type` (an HTTP `Content-Type` value; `None` if absent) names this
    /// channel's request media type: parameters after `;` are ignored and the type is compared
    /// ASCII case-insensitively (RFC 9110 §8.3.1). The gateway answers anything else with
    /// 415 `UNSUPPORTED_MEDIA_TYPE`.
    pub fn is_request_media_type(self, content_type: Option<&str>) -> bool {
        content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .is_some_and(|essence| essence.eq_ignore_ascii_case(self.request_media_type()))
    }

    /// The HPKE `info` label prefix: `"<inner media type> request"`.
    pub const fn request_label(self) -> &'static [u8] {
        match self {
            Channel::Exchange => b"application/vnd.h5-access.exchange request",
            Channel::Call => b"application/vnd.h5-access.call request",
        }
    }

    /// The exporter context for the response secret: `"<inner media type> response"`.
    pub const fn response_label(self) -> &'static [u8] {
        match self {
            Channel::Exchange => b"application/vnd.h5-access.exchange response",
            Channel::Call => b"application/vnd.h5-access.call response",
        }
    }
}

/// RFC 9458 §4.3: `hdr = key_id (1) ‖ kem_id (2) ‖ kdf_id (2) ‖ aead_id (2)`.
fn header(key_id: u8) -> [u8; HEADER_LEN] {
    let mut hdr = [0u8; HEADER_LEN];
    hdr[0] = key_id;
    hdr[1..3].copy_from_slice(&KEM_ID.to_be_bytes());
    hdr[3..5].copy_from_slice(&KDF_ID.to_be_bytes());
    hdr[5..7].copy_from_slice(&AEAD_ID.to_be_bytes());
    hdr
}

/// RFC 9458 §4.3: `info = label ‖ 0x00 ‖ hdr`.
fn info(channel: Channel, hdr: &[u8; HEADER_LEN]) -> Vec<u8> {
    let label = channel.request_label();
    let mut info = Vec::with_capacity(label.len() + 1 + HEADER_LEN);
    info.extend_from_slice(label);
    info.push(0);
    info.extend_from_slice(hdr);
    info
}

/// The secrets both ends hold after an encapsulated request: `enc`, the exported response
/// secret and the exported session secret. The HPKE context itself is dropped after export.
struct Exported {
    enc: [u8; N_ENC],
    response_secret: Zeroizing<[u8; N_K]>,
    session_secret: SessionSecret,
}

fn export_all<C>(
    export: C,
    channel: Channel,
    enc: [u8; N_ENC],
) -> Result<Exported, EncapsulationError>
where
    C: Fn(&[u8], &mut [u8]) -> Result<(), EncapsulationError>,
{
    // RFC 9458 §4.4: secret = context.Export("<label> response", max(Nn, Nk))
    let mut response_secret = Zeroizing::new([0u8; N_K]);
    export(channel.response_label(), response_secret.as_mut())
        .map_err(|_| EncapsulationError::DecryptFailed)?;
    let mut session = Zeroizing::new([0u8; SESSION_SECRET_LEN]);
    export(SESSION_SECRET_LABEL, session.as_mut())
        .map_err(|_| EncapsulationError::DecryptFailed)?;
    Ok(Exported {
        enc,
        response_secret,
        session_secret: SessionSecret::new(session),
    })
}

/// RFC 9458 §4.4 key schedule:
/// `salt = enc ‖ response_nonce`, `prk = Extract(salt, secret)`,
/// `aead_key = Expand(prk, "key", Nk)`, `aead_nonce = Expand(prk, "nonce", Nn)`.
fn response_aead(
    exported: &Exported,
    response_nonce: &[u8],
) -> (ChaCha20Poly1305, Zeroizing<[u8; N_N]>) {
    let mut salt = Vec::with_capacity(N_ENC + RESPONSE_NONCE_LEN);
    salt.extend_from_slice(&exported.enc);
    salt.extend_from_slice(response_nonce);
    let hk = Hkdf::<Sha256>::new(Some(&salt), exported.response_secret.as_ref());
    let mut key = Zeroizing::new([0u8; N_K]);
    let mut nonce = Zeroizing::new([0u8; N_N]);
    // Output lengths (32 and 12) are far below HKDF-SHA256's 8160-byte limit: cannot fail.
    let _ = hk.expand(b"key", key.as_mut());
    let _ = hk.expand(b"nonce", nonce.as_mut());
    let aead = ChaCha20Poly1305::new(&(*key).into());
    (aead, nonce)
}

/// The client's state after sending an encapsulated request: opens the one response and keeps
/// the session secret. Secrets are zeroized on drop; `Debug` prints none.
pub struct ClientContext {
    exported: Exported,
    channel: Channel,
}

impl core::fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientContext")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The gateway's state after opening an encapsulated request: seals the response and exposes
/// the session secret. Secrets are zeroized on drop; `Debug` prints none.
pub struct ServerContext {
    exported: Exported,
    channel: Channel,
    key_id: u8,
}

impl core::fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerContext")
            .field("channel", &self.channel)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Encapsulates `plaintext` to the gateway key `config` (RFC 9458 §4.3), drawing the ephemeral
/// key from the platform CSPRNG (`crypto.getRandomValues` in browsers).
///
/// Returns the encapsulated request `hdr (7) ‖ enc (32) ‖ ct (len + 16)` and the context that
/// opens the response.
///
/// Errors: [`EncapsulationError::TooLarge`] (plaintext over [`MAX_PLAINTEXT_LEN`]),
/// [`EncapsulationError::RandomFailed`], [`EncapsulationError::InvalidKey`] (the gateway public
/// key gives an all-zero shared secret).
pub fn encapsulate_request(
    config: &KeyConfig,
    channel: Channel,
    plaintext: &[u8],
) -> Result<(Vec<u8>, ClientContext), EncapsulationError> {
    let mut ikm = Zeroizing::new([0u8; 32]);
    getrandom::fill(ikm.as_mut()).map_err(|_| EncapsulationError::RandomFailed)?;
    encapsulate_request_with_ikm(config, channel, plaintext, &ikm)
}

/// Deterministic [`encapsulate_request`]: the ephemeral key pair is `DeriveKeyPair(ikm_e)`
/// (RFC 9180 §7.1.3), as in the RFC's test vectors. For known-answer tests only: reusing an
/// `ikm_e` destroys confidentiality.
pub fn encapsulate_request_with_ikm(
    config: &KeyConfig,
    channel: Channel,
    plaintext: &[u8],
    ikm_e: &[u8; 32],
) -> Result<(Vec<u8>, ClientContext), EncapsulationError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(EncapsulationError::TooLarge);
    }
    let hdr = header(config.key_id());
    let info = info(channel, &hdr);
    // RFC 9458 §4.3: enc, sctxt = SetupBaseS(pkR, info)
    let (enc_bytes, mut ctx) = setup_base_sender_with_ikm(&config.public_key(), &info, ikm_e)?;
    // ct = sctxt.Seal("", request)
    let ct = ctx.seal(plaintext, b"")?;
    let exported = export_all(|c, out| ctx.export(c, out), channel, enc_bytes)?;
    // enc_request = concat(hdr, enc, ct)
    let mut out = Vec::with_capacity(HEADER_LEN + N_ENC + ct.len());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(&enc_bytes);
    out.extend_from_slice(&ct);
    Ok((out, ClientContext { exported, channel }))
}

/// Opens an encapsulated request with whichever of `keys` its key id names (RFC 9458 §4.3),
/// returning the plaintext and the context that seals the response.
///
/// Errors, in the order checked: [`EncapsulationError::Truncated`] (shorter than
/// 7 + 32 + 16 bytes), [`EncapsulationError::TooLarge`] (ciphertext over
/// [`MAX_PLAINTEXT_LEN`] + 16), [`EncapsulationError::UnsupportedSuite`] (header KEM/KDF/AEAD
/// ids are not `0x0020`/`0x0001`/`0x0003`), [`EncapsulationError::KeyUnknown`] (key id not in
/// `keys`), [`EncapsulationError::InvalidKey`] (`enc` is a low-order point: all-zero DH
/// output), [`EncapsulationError::DecryptFailed`].
pub fn decapsulate_request(
    keys: &[KeyPair],
    channel: Channel,
    enc_request: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, ServerContext), EncapsulationError> {
    if enc_request.len() < HEADER_LEN + N_ENC + N_T {
        return Err(EncapsulationError::Truncated);
    }
    if enc_request.len() > HEADER_LEN + N_ENC + MAX_PLAINTEXT_LEN + N_T {
        return Err(EncapsulationError::TooLarge);
    }
    let (hdr_bytes, rest) = enc_request.split_at(HEADER_LEN);
    let (enc_bytes, ct) = rest.split_at(N_ENC);
    let mut hdr = [0u8; HEADER_LEN];
    hdr.copy_from_slice(hdr_bytes);
    let key_id = hdr[0];
    if hdr != header(key_id) {
        return Err(EncapsulationError::UnsupportedSuite);
    }
    let key = keys
        .iter()
        .find(|k| k.key_id() == key_id)
        .ok_or(EncapsulationError::KeyUnknown)?;
    let info = info(channel, &hdr);
    // RFC 9458 §4.3: rctxt = SetupBaseR(enc, skR, info)
    let mut ctx = key.setup_base_receiver(enc_bytes, &info)?;
    // request, error = rctxt.Open("", ct)
    let plaintext = Zeroizing::new(ctx.open(ct, b"")?);
    let mut enc_arr = [0u8; N_ENC];
    enc_arr.copy_from_slice(enc_bytes);
    let exported = export_all(|c, out| ctx.export(c, out), channel, enc_arr)?;
    Ok((
        plaintext,
        ServerContext {
            exported,
            channel,
            key_id,
        },
    ))
}

impl ClientContext {
    /// Opens the encapsulated response `response_nonce (32) ‖ ct` (RFC 9458 §4.4).
    ///
    /// Errors: [`EncapsulationError::Truncated`] (shorter than 32 + 16 bytes),
    /// [`EncapsulationError::TooLarge`] (longer than [`MAX_RESPONSE_LEN`]: refused before
    /// decrypting), [`EncapsulationError::DecryptFailed`].
    pub fn open_response(
        &self,
        enc_response: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EncapsulationError> {
        if enc_response.len() < RESPONSE_NONCE_LEN + N_T {
            return Err(EncapsulationError::Truncated);
        }
        if enc_response.len() > MAX_RESPONSE_LEN {
            return Err(EncapsulationError::TooLarge);
        }
        let (nonce, ct) = enc_response.split_at(RESPONSE_NONCE_LEN);
        let (aead, aead_nonce) = response_aead(&self.exported, nonce);
        aead.decrypt((&*aead_nonce).into(), Payload { msg: ct, aad: b"" })
            .map(Zeroizing::new)
            .map_err(|_| EncapsulationError::DecryptFailed)
    }

    /// The `enc` (32 bytes) sent in the request.
    pub fn enc(&self) -> &[u8; N_ENC] {
        &self.exported.enc
    }

    /// The session secret (RFC 9180 §5.3 export with [`SESSION_SECRET_LABEL`]).
    pub fn session_secret(&self) -> &SessionSecret {
        &self.exported.session_secret
    }

    /// Consumes the context, keeping only the session secret.
    pub fn into_session_secret(self) -> SessionSecret {
        self.exported.session_secret
    }

    /// Which channel the request was made on.
    pub fn channel(&self) -> Channel {
        self.channel
    }
}

impl ServerContext {
    /// Seals the response with a fresh random 32-byte response nonce (RFC 9458 §4.4), returning
    /// `response_nonce (32) ‖ ct (len + 16)`.
    ///
    /// Errors: [`EncapsulationError::TooLarge`], [`EncapsulationError::RandomFailed`].
    pub fn seal_response(&self, plaintext: &[u8]) -> Result<Vec<u8>, EncapsulationError> {
        let mut nonce = [0u8; RESPONSE_NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| EncapsulationError::RandomFailed)?;
        self.seal_response_with_nonce(plaintext, &nonce)
    }

    /// Deterministic [`seal_response`](Self::seal_response) with a caller-chosen response nonce
    /// (known-answer tests only).
    pub fn seal_response_with_nonce(
        &self,
        plaintext: &[u8],
        response_nonce: &[u8; RESPONSE_NONCE_LEN],
    ) -> Result<Vec<u8>, EncapsulationError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(EncapsulationError::TooLarge);
        }
        let (aead, mut aead_nonce) = response_aead(&self.exported, response_nonce);
        let ct = aead
            .encrypt(
                (&*aead_nonce).into(),
                Payload {
                    msg: plaintext,
                    aad: b"",
                },
            )
            .map_err(|_| EncapsulationError::TooLarge)?;
        aead_nonce.zeroize();
        let mut out = Vec::with_capacity(RESPONSE_NONCE_LEN + ct.len());
        out.extend_from_slice(response_nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// The request's `enc` (32 bytes).
    pub fn enc(&self) -> &[u8; N_ENC] {
        &self.exported.enc
    }

    /// The key id the request named.
    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// The session secret (RFC 9180 §5.3 export with [`SESSION_SECRET_LABEL`]).
    pub fn session_secret(&self) -> &SessionSecret {
        &self.exported.session_secret
    }

    /// Which channel the request came on.
    pub fn channel(&self) -> Channel {
        self.channel
    }
}
