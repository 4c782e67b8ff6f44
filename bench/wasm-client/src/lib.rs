//! The client side of one AT→VT exchange with no network, as the SDK runs it in the browser:
//! encapsulate the exchange request to the gateway key (HPKE SetupBaseS + Seal + the two
//! exports, RFC 9458 §4.3, PROTOCOL.md §4.1, §4.4) and open the encapsulated response
//! (RFC 9458 §4.4: Extract/Expand + ChaCha20-Poly1305 open).
//!
//! It calls the same `h5_access::protocol` functions the SDK calls, built as the SDK is (release
//! profile; h5-access brings the talc allocator, and on wasm32 links std as the SDK does); it
//! is a separate crate so that the shipped package carries no benchmark code.
//! Inputs are fixed (a derived gateway key, a fixed ephemeral `ikm_e`, a fixed response nonce)
//! so the same bytes can be given to hpke-js and both results checked against each other.

#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use h5_access::protocol::{
    decapsulate_request, encapsulate_request_with_ikm, Channel, ExchangeRequest, ExchangeResponse,
    KeyConfig, KeyPair, Token,
};
use wasm_bindgen::prelude::*;

const PRODUCTS: &str = include_str!("../../../tests/mock-gateway/products.json");
const KEY_ID: u8 = 1;

fn err(e: impl core::fmt::Debug) -> JsError {
    JsError::new(&format!("{e:?}"))
}

/// Fixed inputs for both implementations.
#[wasm_bindgen]
pub struct Fixture {
    gateway: KeyPair,
    key_config: KeyConfig,
    ikm_e: [u8; 32],
    plaintext: Vec<u8>,
    request: Vec<u8>,
    response: Vec<u8>,
    response_plaintext: Vec<u8>,
}

#[wasm_bindgen]
impl Fixture {
    /// Builds the fixture: a gateway key (`DeriveKeyPair([1; 32])`, key id 1), an exchange
    /// request carrying an AT of the mock gateway's length, the expected encapsulated request,
    /// and the gateway's encapsulated `Issued` response carrying a VT of the mock gateway's
    /// length and the `wealth-01` page of tests/mock-gateway/products.json.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<Fixture, JsError> {
        let gateway = KeyPair::derive(KEY_ID, &[1; 32]);
        let key_config = gateway.config().clone();
        // Token lengths as the mock gateway issues them (PROTOCOL.md §8, base64url of
        // 15 + plaintext + 16 bytes): AT 131 chars, VT 172 chars.
        let at = Token::new(vec![b'A'; 131]).map_err(err)?;
        let vt = Token::new(vec![b'V'; 172]).map_err(err)?;
        let plaintext = ExchangeRequest {
            request_id: [7; 16],
            client_time: 1_800_000_000,
            product: "wealth-01".into(),
            subject_token: at,
        }
        .encode()
        .map_err(err)?;
        let ikm_e = [9u8; 32];
        let (request, _) =
            encapsulate_request_with_ikm(&key_config, Channel::Exchange, &plaintext, &ikm_e)
                .map_err(err)?;
        let catalogue: serde_json::Value = serde_json::from_str(PRODUCTS).map_err(err)?;
        let page = catalogue["products"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["id"] == "wealth-01"))
            .map(|p| p["page"].to_string())
            .ok_or_else(|| JsError::new("wealth-01 missing"))?;
        let response_plaintext = ExchangeResponse::Issued {
            exp: 1_800_000_900,
            issued_token: vt,
            page,
        }
        .encode()
        .map_err(err)?;
        let (_, server) =
            decapsulate_request(core::slice::from_ref(&gateway), Channel::Exchange, &request)
                .map_err(err)?;
        let response = server
            .seal_response_with_nonce(&response_plaintext, &[5; 32])
            .map_err(err)?;
        Ok(Fixture {
            gateway,
            key_config,
            ikm_e,
            plaintext,
            request,
            response,
            response_plaintext,
        })
    }

    /// The gateway's X25519 public key (32 bytes).
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Vec<u8> {
        self.key_config.public_key().to_vec()
    }
    /// The fixed ephemeral `ikm_e` (32 bytes, RFC 9180 `DeriveKeyPair` input).
    #[wasm_bindgen(getter, js_name = ikmE)]
    pub fn ikm_e(&self) -> Vec<u8> {
        self.ikm_e.to_vec()
    }
    /// The exchange request plaintext.
    #[wasm_bindgen(getter)]
    pub fn plaintext(&self) -> Vec<u8> {
        self.plaintext.clone()
    }
    /// The expected encapsulated request `hdr ‖ enc ‖ ct`.
    #[wasm_bindgen(getter)]
    pub fn request(&self) -> Vec<u8> {
        self.request.clone()
    }
    /// The gateway's encapsulated response `response_nonce ‖ ct`.
    #[wasm_bindgen(getter)]
    pub fn response(&self) -> Vec<u8> {
        self.response.clone()
    }
    /// The expected response plaintext.
    #[wasm_bindgen(getter, js_name = responsePlaintext)]
    pub fn response_plaintext(&self) -> Vec<u8> {
        self.response_plaintext.clone()
    }

    /// One exchange's client crypto: encapsulate the request plaintext and open `response`
    /// (bytes from JS, as from `fetch`). Returns the response plaintext (copied out to JS, as
    /// the SDK hands page data to the page).
    #[wasm_bindgen(js_name = exchange)]
    pub fn exchange(&self, response: &[u8]) -> Result<Vec<u8>, JsError> {
        let (_request, ctx) = encapsulate_request_with_ikm(
            &self.key_config,
            Channel::Exchange,
            &self.plaintext,
            &self.ikm_e,
        )
        .map_err(err)?;
        let pt = ctx.open_response(response).map_err(err)?;
        Ok(pt.to_vec())
    }

    /// The gateway's key configuration list (`application/ohttp-keys`, RFC 9458 §3.2), for the
    /// shipped package's `H5Client.create({ keyConfig })`.
    #[wasm_bindgen(getter, js_name = keyConfig)]
    pub fn key_config_list(&self) -> Vec<u8> {
        KeyConfig::encode_list(core::slice::from_ref(&self.key_config))
    }

    /// The gateway's side for the shipped package's path: opens an encapsulated exchange request
    /// made by the SDK (its own random ephemeral key) and answers it with the fixture's response
    /// plaintext (VT and `wealth-01` page), sealed. Timed apart by the page and subtracted.
    #[wasm_bindgen(js_name = respond)]
    pub fn respond(&self, request: &[u8]) -> Result<Vec<u8>, JsError> {
        let (_, server) = decapsulate_request(
            core::slice::from_ref(&self.gateway),
            Channel::Exchange,
            request,
        )
        .map_err(err)?;
        server
            .seal_response_with_nonce(&self.response_plaintext, &[5; 32])
            .map_err(err)
    }

    /// The encapsulated request this crate produces (for the page's cross-check).
    #[wasm_bindgen(js_name = encapsulate)]
    pub fn encapsulate(&self) -> Result<Vec<u8>, JsError> {
        encapsulate_request_with_ikm(
            &self.key_config,
            Channel::Exchange,
            &self.plaintext,
            &self.ikm_e,
        )
        .map(|(r, _)| r)
        .map_err(err)
    }
}
