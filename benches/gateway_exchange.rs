//! The gateway's server work for one AT→VT exchange, in process, on one core: decapsulate the
//! request (X25519 + HPKE open), validate the AT (open the ticket, scope, expiry), the replay
//! and used-AT store inserts, issue the VT (seal the ticket) and seal the encapsulated
//! response. This is the crypto limit the HTTP load test (`bench/load`) is compared with.
//!
//! Each iteration gets a fresh AT and a fresh encapsulation, made outside the timed section.
//! Run: `cargo bench --features gateway --bench gateway_exchange`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use h5_access::gateway::{Gateway, Partner, TicketKey};
use h5_access::protocol::{
    encapsulate_request, Channel, ExchangeRequest, ExchangeResponse, KeyConfig, KeyPair,
};

/// The mock gateway's catalogue, so the sealed page has the demo's size.
const PRODUCTS: &str = include_str!("../tests/mock-gateway/products.json");
const PRODUCT: &str = "wealth-01";
const T0: u64 = 1_800_000_000;

fn gateway() -> Gateway {
    let catalogue: serde_json::Value = serde_json::from_str(PRODUCTS).unwrap();
    let mut b = Gateway::builder(
        KeyPair::derive(1, &[1; 32]),
        TicketKey::from_bytes(1, &[2; 32]),
    )
    .partner(Partner::new("bench-partner", vec![3; 32], [PRODUCT]).unwrap());
    for p in catalogue["products"].as_array().unwrap() {
        b = b.product(p["id"].as_str().unwrap(), p["page"].to_string());
    }
    b.build().unwrap()
}

/// One fresh exchange request: a new AT, a new request id, a new encapsulation.
fn fresh_request(gw: &Gateway, cfg: &KeyConfig, n: u64) -> Vec<u8> {
    let at = gw
        .mint_access_token(
            "bench-partner",
            "user-0001",
            &[PRODUCT.into()],
            T0,
            T0 + 300,
        )
        .unwrap()
        .token;
    let mut request_id = [0u8; 16];
    request_id[..8].copy_from_slice(&n.to_be_bytes());
    let pt = ExchangeRequest {
        request_id,
        client_time: T0,
        product: PRODUCT.into(),
        subject_token: at,
    }
    .encode()
    .unwrap();
    encapsulate_request(cfg, Channel::Exchange, &pt).unwrap().0
}

fn bench(c: &mut Criterion) {
    let gw = gateway();
    let cfg = KeyConfig::decode_list(&gw.key_config_list())
        .unwrap()
        .remove(0);

    // Sanity check outside the measurement: the exchange is issued, not refused.
    let pt = ExchangeRequest {
        request_id: [0xff; 16],
        client_time: T0,
        product: PRODUCT.into(),
        subject_token: gw
            .mint_access_token(
                "bench-partner",
                "user-0001",
                &[PRODUCT.into()],
                T0,
                T0 + 300,
            )
            .unwrap()
            .token,
    }
    .encode()
    .unwrap();
    let (req, ctx) = encapsulate_request(&cfg, Channel::Exchange, &pt).unwrap();
    // The in-memory store never waits: a current-thread runtime adds no thread hop.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let res = rt.block_on(gw.handle_exchange(&req, T0)).unwrap();
    let msg = ExchangeResponse::decode(&ctx.open_response(&res.body).unwrap()).unwrap();
    assert!(matches!(msg, ExchangeResponse::Issued { .. }), "{msg:?}");

    let mut n = 0u64;
    let mut group = c.benchmark_group("gateway_exchange");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("server_work", |b| {
        b.iter_batched(
            || {
                n += 1;
                fresh_request(&gw, &cfg, n)
            },
            |req| {
                let res = rt
                    .block_on(gw.handle_exchange(black_box(&req), T0))
                    .unwrap();
                assert!(res.code.is_none(), "refused: {:?}", res.code);
                res
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
