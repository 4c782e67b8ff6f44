//! Round trips that compare decrypted bytes, and negative cases that each assert the exact
//! error code: byte flips, truncation, trailing bytes, empty input, unknown key id,
//! unsupported suite, low-order `enc`, malformed plaintexts and key configurations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use h5_access::protocol::{
    codes, decapsulate_request, encapsulate_request, encapsulate_request_with_ikm, CallRequest,
    CallResponse, Channel, EncapsulationError, ExchangeRequest, ExchangeResponse, KeyConfig,
    KeyConfigError, KeyPair, MessageError, SessionSecret, Token,
};

fn key(id: u8) -> KeyPair {
    KeyPair::derive(id, &[id; 32])
}

fn exchange_plaintext() -> Vec<u8> {
    ExchangeRequest {
        request_id: [9; 16],
        client_time: 1_700_000_000,
        product: "wealth-01".into(),
        subject_token: Token::new(b"AT-test-token".to_vec()).unwrap(),
    }
    .encode()
    .unwrap()
}

fn code_of(r: Result<impl Sized, EncapsulationError>) -> &'static str {
    match r {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}

#[test]
fn exchange_round_trip_returns_the_exact_bytes_both_ways() {
    let k = key(1);
    let pt = exchange_plaintext();
    let (req, client) = encapsulate_request(k.config(), Channel::Exchange, &pt).unwrap();
    assert_eq!(req.len(), 7 + 32 + pt.len() + 16);
    let (opened, server) =
        decapsulate_request(std::slice::from_ref(&k), Channel::Exchange, &req).unwrap();
    assert_eq!(opened.as_slice(), pt.as_slice());
    assert_eq!(server.key_id(), 1);
    assert_eq!(client.enc(), server.enc());
    assert_eq!(
        client.session_secret().expose(),
        server.session_secret().expose()
    );

    for len in [0usize, 1, 100, 65_536] {
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let res = server.seal_response(&body).unwrap();
        assert_eq!(res.len(), 32 + len + 16);
        assert_eq!(
            client.open_response(&res).unwrap().as_slice(),
            body.as_slice()
        );
    }
}

#[test]
fn two_requests_never_share_enc_or_secrets() {
    let k = key(1);
    let (a, ca) = encapsulate_request(k.config(), Channel::Exchange, b"x").unwrap();
    let (b, cb) = encapsulate_request(k.config(), Channel::Exchange, b"x").unwrap();
    assert_ne!(a, b);
    assert_ne!(ca.enc(), cb.enc());
    assert_ne!(ca.session_secret().expose(), cb.session_secret().expose());
}

#[test]
fn a_request_of_one_channel_does_not_open_on_the_other() {
    let k = key(1);
    let (req, _) = encapsulate_request(k.config(), Channel::Exchange, b"hello").unwrap();
    assert_eq!(
        code_of(decapsulate_request(&[k], Channel::Call, &req)),
        "DECRYPT_FAILED"
    );
}

#[test]
fn a_response_for_another_request_is_refused() {
    let k = key(1);
    let (req1, client1) = encapsulate_request(k.config(), Channel::Exchange, b"one").unwrap();
    let (req2, _client2) = encapsulate_request(k.config(), Channel::Exchange, b"two").unwrap();
    let (_, server2) =
        decapsulate_request(std::slice::from_ref(&k), Channel::Exchange, &req2).unwrap();
    let (_, _server1) = decapsulate_request(&[k], Channel::Exchange, &req1).unwrap();
    let res2 = server2.seal_response(b"for two").unwrap();
    assert_eq!(code_of(client1.open_response(&res2)), "DECRYPT_FAILED");
}

#[test]
fn every_single_byte_flip_of_a_request_is_refused_with_its_code() {
    let k = key(1);
    let pt = exchange_plaintext();
    let (req, _) =
        encapsulate_request_with_ikm(k.config(), Channel::Exchange, &pt, &[0x5a; 32]).unwrap();
    for i in 0..req.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = req.clone();
            bad[i] ^= bit;
            let got = code_of(decapsulate_request(
                std::slice::from_ref(&k),
                Channel::Exchange,
                &bad,
            ));
            let want = match i {
                0 => "KEY_UNKNOWN",
                1..=6 => "UNSUPPORTED_SUITE",
                _ => "DECRYPT_FAILED",
            };
            assert_eq!(got, want, "flip {bit:#04x} at byte {i}");
        }
    }
}

#[test]
fn every_single_byte_flip_of_a_response_is_refused() {
    let k = key(1);
    let (req, client) = encapsulate_request(k.config(), Channel::Exchange, b"q").unwrap();
    let (_, server) = decapsulate_request(&[k], Channel::Exchange, &req).unwrap();
    let res = server.seal_response(b"response body").unwrap();
    for i in 0..res.len() {
        let mut bad = res.clone();
        bad[i] ^= 0x01;
        assert_eq!(
            code_of(client.open_response(&bad)),
            "DECRYPT_FAILED",
            "byte {i}"
        );
    }
    assert_eq!(
        client.open_response(&res).unwrap().as_slice(),
        b"response body"
    );
}

#[test]
fn truncated_empty_and_trailing_requests() {
    let k = key(1);
    let (req, _) = encapsulate_request(k.config(), Channel::Exchange, b"abc").unwrap();
    let keys = std::slice::from_ref(&k);
    assert_eq!(
        code_of(decapsulate_request(keys, Channel::Exchange, &[])),
        "TRUNCATED"
    );
    for n in 1..(7 + 32 + 16) {
        assert_eq!(
            code_of(decapsulate_request(keys, Channel::Exchange, &req[..n])),
            "TRUNCATED",
            "prefix {n}"
        );
    }
    for n in (7 + 32 + 16)..req.len() {
        assert_eq!(
            code_of(decapsulate_request(keys, Channel::Exchange, &req[..n])),
            "DECRYPT_FAILED",
            "prefix {n}"
        );
    }
    let mut trailing = req.clone();
    trailing.push(0);
    assert_eq!(
        code_of(decapsulate_request(keys, Channel::Exchange, &trailing)),
        "DECRYPT_FAILED"
    );
    // The untouched request still opens: nothing above consumed state.
    assert_eq!(
        decapsulate_request(keys, Channel::Exchange, &req)
            .unwrap()
            .0
            .as_slice(),
        b"abc"
    );
}

#[test]
fn truncated_and_empty_responses() {
    let k = key(1);
    let (req, client) = encapsulate_request(k.config(), Channel::Exchange, b"q").unwrap();
    let (_, server) = decapsulate_request(&[k], Channel::Exchange, &req).unwrap();
    let res = server.seal_response(b"body").unwrap();
    assert_eq!(code_of(client.open_response(&[])), "TRUNCATED");
    for n in 1..48 {
        assert_eq!(code_of(client.open_response(&res[..n])), "TRUNCATED", "{n}");
    }
    let mut trailing = res.clone();
    trailing.push(0);
    assert_eq!(code_of(client.open_response(&trailing)), "DECRYPT_FAILED");
}

#[test]
fn wrong_key_id_and_previous_key_rotation() {
    let current = key(2);
    let previous = key(1);
    let (req, _) = encapsulate_request(previous.config(), Channel::Exchange, b"old").unwrap();
    assert_eq!(
        code_of(decapsulate_request(
            std::slice::from_ref(&current),
            Channel::Exchange,
            &req
        )),
        "KEY_UNKNOWN"
    );
    let (pt, server) = decapsulate_request(&[current, previous], Channel::Exchange, &req).unwrap();
    assert_eq!(pt.as_slice(), b"old");
    assert_eq!(server.key_id(), 1);
    // Same key id, different key: authentication fails, it is not a "stale key".
    let impostor = KeyPair::derive(1, &[0xEE; 32]);
    let (req, _) = encapsulate_request(impostor.config(), Channel::Exchange, b"x").unwrap();
    assert_eq!(
        code_of(decapsulate_request(&[key(1)], Channel::Exchange, &req)),
        "DECRYPT_FAILED"
    );
}

#[test]
fn unsupported_suite_in_header() {
    let k = key(1);
    let (mut req, _) = encapsulate_request(k.config(), Channel::Exchange, b"x").unwrap();
    req[5..7].copy_from_slice(&0x0001u16.to_be_bytes()); // AES-128-GCM
    assert_eq!(
        code_of(decapsulate_request(&[k], Channel::Exchange, &req)),
        "UNSUPPORTED_SUITE"
    );
}

/// Low-order X25519 points (RFC 7748 §6.1: the all-zero DH output must be refused).
const LOW_ORDER: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

#[test]
fn low_order_enc_is_refused_as_invalid_key() {
    let k = key(1);
    let (req, _) = encapsulate_request(k.config(), Channel::Exchange, b"x").unwrap();
    for point in LOW_ORDER {
        let mut bad = req.clone();
        bad[7..39].copy_from_slice(&hex::decode(point).unwrap());
        assert_eq!(
            code_of(decapsulate_request(
                std::slice::from_ref(&k),
                Channel::Exchange,
                &bad
            )),
            "INVALID_KEY",
            "enc {point}"
        );
    }
}

#[test]
fn low_order_gateway_public_key_is_refused_when_encapsulating() {
    for point in LOW_ORDER {
        let config = KeyConfig::new(1, &hex::decode(point).unwrap()).unwrap();
        assert_eq!(
            code_of(encapsulate_request(&config, Channel::Exchange, b"x")),
            "INVALID_KEY",
            "pk {point}"
        );
    }
}

#[test]
fn oversize_plaintext_is_refused_before_sealing() {
    let k = key(1);
    let big = vec![0u8; (1 << 20) + 1];
    assert_eq!(
        code_of(encapsulate_request(k.config(), Channel::Exchange, &big)),
        "TOO_LARGE"
    );
}

// ---- key configurations ----

#[test]
fn key_config_round_trip_and_list() {
    let a = key(1);
    let b = key(2);
    let enc = a.config().encode();
    assert_eq!(enc.len(), 1 + 2 + 32 + 2 + 4);
    assert_eq!(&enc[..3], &[1, 0x00, 0x20]);
    assert_eq!(&enc[35..], &[0, 4, 0, 1, 0, 3]);
    assert_eq!(KeyConfig::decode(&enc).unwrap(), *a.config());
    let list = KeyConfig::encode_list(&[b.config().clone(), a.config().clone()]);
    let decoded = KeyConfig::decode_list(&list).unwrap();
    assert_eq!(decoded, vec![b.config().clone(), a.config().clone()]);
}

/// A configuration's symmetric list is bounded (`params::MAX_SYMMETRIC_LEN`) so that its
/// encoding always fits the 2-byte length of a list entry: one at the bound round-trips through
/// `encode_list` / `decode_list`; one past it (up to the 65,532 bytes the field could say) is
/// refused `Malformed`. Before, `decode` took 65,532 bytes of pairs and `encode_list` wrote the
/// 65,569-byte configuration under a truncated length (`as u16`: 33), a broken list.
#[test]
fn key_config_symmetric_list_is_bounded_so_a_list_entry_fits() {
    use h5_access::protocol::params::MAX_SYMMETRIC_LEN;
    assert_eq!(MAX_SYMMETRIC_LEN, 65_496);
    let with_pairs = |sym_len: usize| {
        let mut enc = key(1).config().encode()[..35].to_vec();
        enc.extend_from_slice(&u16::try_from(sym_len).unwrap().to_be_bytes());
        // The supported pair last, after (0xFFFF, 0xFFFF) pairs.
        for _ in 0..sym_len / 4 - 1 {
            enc.extend_from_slice(&[0xFF; 4]);
        }
        enc.extend_from_slice(&[0, 1, 0, 3]);
        enc
    };
    let at_bound = with_pairs(MAX_SYMMETRIC_LEN);
    let cfg = KeyConfig::decode(&at_bound).unwrap();
    assert_eq!(cfg.symmetric_suites().len(), MAX_SYMMETRIC_LEN / 4);
    assert_eq!(cfg.encode(), at_bound);
    let list = KeyConfig::encode_list(&[cfg.clone(), key(2).config().clone()]);
    assert_eq!(
        &list[..2],
        &u16::try_from(at_bound.len()).unwrap().to_be_bytes()
    );
    assert_eq!(
        KeyConfig::decode_list(&list).unwrap(),
        vec![cfg, key(2).config().clone()]
    );
    for sym_len in [MAX_SYMMETRIC_LEN + 4, 65_532] {
        assert_eq!(
            KeyConfig::decode(&with_pairs(sym_len)),
            Err(KeyConfigError::Malformed),
            "{sym_len}"
        );
    }
}

#[test]
fn key_config_negative_cases() {
    let enc = key(1).config().encode();
    assert_eq!(
        KeyConfig::decode(&[]).unwrap_err(),
        KeyConfigError::Truncated
    );
    for n in 1..enc.len() {
        assert_eq!(
            KeyConfig::decode(&enc[..n]).unwrap_err(),
            KeyConfigError::Truncated,
            "prefix {n}"
        );
    }
    let mut trailing = enc.clone();
    trailing.push(0);
    assert_eq!(
        KeyConfig::decode(&trailing).unwrap_err(),
        KeyConfigError::TrailingBytes
    );
    let mut kem = enc.clone();
    kem[2] = 0x10; // P-256
    assert_eq!(
        KeyConfig::decode(&kem).unwrap_err(),
        KeyConfigError::UnsupportedSuite
    );
    let mut zero_sym = enc[..35].to_vec();
    zero_sym.extend_from_slice(&[0, 0]);
    assert_eq!(
        KeyConfig::decode(&zero_sym).unwrap_err(),
        KeyConfigError::Malformed
    );
    let mut odd_sym = enc[..35].to_vec();
    odd_sym.extend_from_slice(&[0, 3, 0, 1, 0]);
    assert_eq!(
        KeyConfig::decode(&odd_sym).unwrap_err(),
        KeyConfigError::Malformed
    );
    assert_eq!(
        KeyConfig::decode_list(&[]).unwrap_err(),
        KeyConfigError::Malformed
    );
    assert_eq!(
        KeyConfig::decode_list(&[0, 50, 1, 2]).unwrap_err(),
        KeyConfigError::Truncated
    );
    // An unsupported entry is skipped; the supported one is kept.
    let mut list = KeyConfig::encode_list(&[]);
    list.extend_from_slice(&(kem.len() as u16).to_be_bytes());
    list.extend_from_slice(&kem);
    assert_eq!(
        KeyConfig::decode_list(&list).unwrap_err(),
        KeyConfigError::UnsupportedSuite
    );
    list.extend_from_slice(&(enc.len() as u16).to_be_bytes());
    list.extend_from_slice(&enc);
    assert_eq!(KeyConfig::decode_list(&list).unwrap().len(), 1);
    // Issue 14 §5: a malformed entry inside a well-framed list is skipped like an unsupported
    // one (before: the whole list was refused with MALFORMED); alone, its error is reported.
    let mut bad_then_good = Vec::new();
    bad_then_good.extend_from_slice(&(zero_sym.len() as u16).to_be_bytes());
    bad_then_good.extend_from_slice(&zero_sym);
    assert_eq!(
        KeyConfig::decode_list(&bad_then_good).unwrap_err(),
        KeyConfigError::Malformed
    );
    bad_then_good.extend_from_slice(&(enc.len() as u16).to_be_bytes());
    bad_then_good.extend_from_slice(&enc);
    assert_eq!(
        KeyConfig::decode_list(&bad_then_good).unwrap(),
        vec![key(1).config().clone()]
    );
    assert_eq!(
        KeyConfig::new(1, &[0u8; 31]).unwrap_err(),
        KeyConfigError::InvalidKey
    );
}

// ---- plaintext messages ----

#[test]
fn exchange_request_decode_negative_cases() {
    let pt = exchange_plaintext();
    assert_eq!(ExchangeRequest::decode(&pt).unwrap().product, "wealth-01");
    assert_eq!(
        ExchangeRequest::decode(&[]).unwrap_err(),
        MessageError::Truncated
    );
    for n in 1..pt.len() {
        let e = ExchangeRequest::decode(&pt[..n]).unwrap_err();
        // A cut inside the token leaves a shorter token than its length says: truncated.
        assert_eq!(e, MessageError::Truncated, "prefix {n}");
    }
    let mut trailing = pt.clone();
    trailing.push(b'x');
    assert_eq!(
        ExchangeRequest::decode(&trailing).unwrap_err(),
        MessageError::TrailingBytes
    );
    let mut v2 = pt.clone();
    v2[0] = 2;
    assert_eq!(
        ExchangeRequest::decode(&v2).unwrap_err(),
        MessageError::UnsupportedVersion
    );
    let mut bad_product = pt.clone();
    bad_product[1 + 16 + 8 + 1] = b'/';
    assert_eq!(
        ExchangeRequest::decode(&bad_product).unwrap_err(),
        MessageError::Malformed
    );
    let mut empty_product = vec![1];
    empty_product.extend_from_slice(&[0; 16 + 8]);
    empty_product.push(0);
    empty_product.extend_from_slice(&[0, 1, b'A']);
    assert_eq!(
        ExchangeRequest::decode(&empty_product).unwrap_err(),
        MessageError::Malformed
    );
    let mut long_token = pt[..1 + 16 + 8 + 1 + 9].to_vec();
    long_token.extend_from_slice(&2049u16.to_be_bytes());
    long_token.extend_from_slice(&[b'A'; 2049]);
    assert_eq!(
        ExchangeRequest::decode(&long_token).unwrap_err(),
        MessageError::TooLarge
    );
    let mut control_in_token = pt.clone();
    let last = control_in_token.len() - 1;
    control_in_token[last] = b'\n';
    assert_eq!(
        ExchangeRequest::decode(&control_in_token).unwrap_err(),
        MessageError::Malformed
    );
}

#[test]
fn token_rules() {
    assert_eq!(Token::new(Vec::new()).unwrap_err(), MessageError::Malformed);
    assert_eq!(
        Token::new(b"a b".to_vec()).unwrap_err(),
        MessageError::Malformed
    );
    assert_eq!(
        Token::new(vec![b'a'; 2049]).unwrap_err(),
        MessageError::TooLarge
    );
    assert_eq!(Token::new(vec![b'a'; 2048]).unwrap().as_bytes().len(), 2048);
    let t = Token::new(b"SECRET-TOKEN-VALUE".to_vec()).unwrap();
    let dbg = format!("{t:?}");
    assert!(!dbg.contains("SECRET"), "{dbg}");
    assert!(dbg.contains("18"), "{dbg}");
}

#[test]
fn exchange_response_round_trip_and_negative_cases() {
    let issued = ExchangeResponse::Issued {
        issued_token: Token::new(b"VT-1".to_vec()).unwrap(),
        exp: 1_700_000_900,
        page: r#"{"title":"T"}"#.into(),
    };
    let enc = issued.encode().unwrap();
    assert_eq!(ExchangeResponse::decode(&enc).unwrap(), issued);
    let refused = ExchangeResponse::Refused {
        code: codes::AT_EXPIRED.into(),
    };
    let enc_r = refused.encode().unwrap();
    assert_eq!(enc_r, b"\x01\x01\x0aAT_EXPIRED");
    assert_eq!(ExchangeResponse::decode(&enc_r).unwrap(), refused);
    let mut bad_status = enc_r.clone();
    bad_status[1] = 7;
    assert_eq!(
        ExchangeResponse::decode(&bad_status).unwrap_err(),
        MessageError::Malformed
    );
    let mut lower = enc_r.clone();
    lower[3] = b'a';
    assert_eq!(
        ExchangeResponse::decode(&lower).unwrap_err(),
        MessageError::Malformed
    );
    let mut not_utf8 = enc.clone();
    let n = not_utf8.len();
    not_utf8[n - 2] = 0xff;
    assert_eq!(
        ExchangeResponse::decode(&not_utf8).unwrap_err(),
        MessageError::Malformed
    );
    let mut huge = enc[..2 + 8 + 2 + 4].to_vec();
    huge.extend_from_slice(&(512 * 1024 + 1u32).to_be_bytes());
    assert_eq!(
        ExchangeResponse::decode(&huge).unwrap_err(),
        MessageError::TooLarge
    );
    assert_eq!(
        ExchangeResponse::Refused {
            code: "bad code".into()
        }
        .encode()
        .unwrap_err(),
        MessageError::Malformed
    );
    for n in 0..enc.len() {
        assert_eq!(
            ExchangeResponse::decode(&enc[..n]).unwrap_err(),
            MessageError::Truncated,
            "prefix {n}"
        );
    }
}

fn call() -> CallRequest {
    CallRequest {
        request_id: [3; 16],
        client_time: 1_700_000_100,
        issued_token: Token::new(b"VT-abc".to_vec()).unwrap(),
        service: "quote".into(),
        body: r#"{"amount":100}"#.into(),
    }
}

#[test]
fn call_binder_binds_the_call_to_the_session_secret() {
    let secret = SessionSecret::from_bytes([7; 32]);
    let other = SessionSecret::from_bytes([8; 32]);
    let enc = call().encode(&secret).unwrap();
    let (decoded, binder) = CallRequest::decode(&enc).unwrap();
    assert_eq!(decoded, call());
    assert!(decoded.verify_binder(&secret, &binder));
    assert!(!decoded.verify_binder(&other, &binder));
    let mut changed = decoded.clone();
    changed.body = r#"{"amount":101}"#.into();
    assert!(!changed.verify_binder(&secret, &binder));
    let mut flipped = binder;
    flipped[31] ^= 1;
    assert!(!decoded.verify_binder(&secret, &flipped));
    assert_eq!(
        format!("{secret:?}"),
        "SessionSecret(<opaque>)",
        "Debug never prints the secret"
    );
}

#[test]
fn call_messages_negative_cases() {
    let secret = SessionSecret::from_bytes([7; 32]);
    let enc = call().encode(&secret).unwrap();
    for n in 0..enc.len() {
        assert_eq!(
            CallRequest::decode(&enc[..n]).unwrap_err(),
            MessageError::Truncated,
            "prefix {n}"
        );
    }
    let mut trailing = enc.clone();
    trailing.push(0);
    assert_eq!(
        CallRequest::decode(&trailing).unwrap_err(),
        MessageError::TrailingBytes
    );
    let mut bad_service = call();
    bad_service.service = "quote now".into();
    assert_eq!(
        bad_service.encode(&secret).unwrap_err(),
        MessageError::Malformed
    );
    let ok = CallResponse::Ok { body: "{}".into() };
    assert_eq!(CallResponse::decode(&ok.encode().unwrap()).unwrap(), ok);
    let refused = CallResponse::Refused {
        code: codes::VT_NOT_BOUND.into(),
    };
    assert_eq!(
        CallResponse::decode(&refused.encode().unwrap()).unwrap(),
        refused
    );
    assert_eq!(
        CallResponse::decode(b"\x02\x00\x00\x00\x00\x00").unwrap_err(),
        MessageError::UnsupportedVersion
    );
}

// ---- error codes and secret hygiene ----

#[test]
fn every_error_variant_has_a_distinct_stable_code_and_message() {
    fn check(codes: &[(&str, &str, String)]) {
        let mut seen = std::collections::HashSet::new();
        for (code, message, display) in codes {
            assert!(seen.insert(*code), "duplicate code {code}");
            assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert!(!message.is_empty());
            assert_eq!(display, &format!("{code}: {message}"));
        }
    }
    check(
        &KeyConfigError::ALL
            .iter()
            .map(|e| (e.code(), e.message(), e.to_string()))
            .collect::<Vec<_>>(),
    );
    check(
        &EncapsulationError::ALL
            .iter()
            .map(|e| (e.code(), e.message(), e.to_string()))
            .collect::<Vec<_>>(),
    );
    check(
        &MessageError::ALL
            .iter()
            .map(|e| (e.code(), e.message(), e.to_string()))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        EncapsulationError::ALL
            .iter()
            .map(|e| e.code())
            .collect::<Vec<_>>(),
        [
            "TRUNCATED",
            "KEY_UNKNOWN",
            "UNSUPPORTED_SUITE",
            "INVALID_KEY",
            "DECRYPT_FAILED",
            "TOO_LARGE",
            "RANDOM_FAILED"
        ]
    );
    let unique: std::collections::HashSet<_> = codes::ALL.iter().collect();
    assert_eq!(unique.len(), codes::ALL.len());
}

#[test]
fn debug_output_never_contains_key_material() {
    let k = KeyPair::from_private_key(3, &[0xAB; 32]).unwrap();
    let dbg = format!("{k:?}");
    assert!(!dbg.to_lowercase().contains("abab"), "{dbg}");
    assert!(!dbg.contains("171"), "{dbg}");
    let (req, client) = encapsulate_request(k.config(), Channel::Exchange, b"x").unwrap();
    let (_, server) = decapsulate_request(&[k], Channel::Exchange, &req).unwrap();
    for dbg in [format!("{client:?}"), format!("{server:?}")] {
        assert!(!dbg.contains('['), "no byte arrays in {dbg}");
    }
}
