//! CPU of a merchant request before its first I/O: strict JSON parse, common members,
//! parameters deserialised and validated, signature verified, and the start's digest. At 2 and
//! 50 receivers (50 is the most a start may name), and for an order query.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use shared::daxpay::json::{Arena, parse_tree};
use shared::daxpay::params::{AllocationRef, StartParams};
use shared::daxpay::request::Verifier;
use std::hint::black_box;

fn verifier() -> Verifier {
    Verifier {
        signer: bench::signer(),
        require_sign: true,
        req_timeout_secs: 300,
        previous: None,
    }
}

fn request_cpu(c: &mut Criterion) {
    let v = verifier();
    let mut group = c.benchmark_group("start");
    for receivers in [2usize, 50] {
        let body = bench::start_body(receivers);
        assert!(
            v.verify::<StartParams>(&body, bench::NOW).is_ok(),
            "the bench request must verify"
        );
        group.bench_with_input(BenchmarkId::from_parameter(receivers), &body, |b, body| {
            b.iter(|| {
                let req = v.verify::<StartParams>(black_box(body), bench::NOW);
                req.map(|r| r.params.digest())
            })
        });
    }
    group.finish();
    // where a 50-receiver start's time goes
    let body = bench::start_body(50);
    let mut parts = c.benchmark_group("start50");
    parts.bench_function("parse", |b| {
        b.iter(|| {
            let arena = Arena::for_body(body.len());
            parse_tree(black_box(&body), &arena).is_ok()
        })
    });
    parts.bench_function("parse_serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&body)).is_ok())
    });
    let unsigned = Verifier {
        require_sign: false,
        ..verifier()
    };
    parts.bench_function("parse+params", |b| {
        b.iter(|| unsigned.verify::<StartParams>(black_box(&body), bench::NOW))
    });
    let arena = Arena::for_body(body.len());
    let raw = parse_tree(&body, &arena).unwrap_or_default();
    parts.bench_function("signature", |b| b.iter(|| v.signer.verify(black_box(&raw))));
    let secret = shared::daxpay::sign::Secret::new(bench::SECRET);
    parts.bench_function("sign_string", |b| {
        b.iter(|| shared::daxpay::sign::sign_string(black_box(&raw), &secret))
    });
    let params = v.verify::<StartParams>(&body, bench::NOW).map(|r| r.params);
    if let Ok(p) = params {
        parts.bench_function("digest", |b| b.iter(|| black_box(&p).digest()));
    }
    parts.finish();
    let body = bench::query_body();
    assert!(v.verify::<AllocationRef>(&body, bench::NOW).is_ok());
    c.bench_function("query", |b| {
        b.iter(|| v.verify::<AllocationRef>(black_box(&body), bench::NOW))
    });
}

/// Reading the channel keys: what a function's init paid for each of the four RSA keys when
/// they were parsed at start-up.
fn channel_keys(c: &mut Criterion) {
    use shared::infra::crypto::{RsaSigner, RsaVerifier, generate_rsa_keypair};
    let Ok((private, public)) = generate_rsa_keypair() else {
        panic!("key generation failed");
    };
    c.bench_function("key/private_parse_and_sign", |b| {
        b.iter(|| {
            RsaSigner::from_pkcs8_base64("KEY", black_box(&private))
                .and_then(|k| k.sign_base64(b"message"))
        })
    });
    // what init pays for each private key: decoding, the shape and the consistency of its
    // numbers (the full read by aws-lc waits for the first signature, above)
    c.bench_function("key/private_init_check", |b| {
        b.iter(|| RsaSigner::from_pkcs8_base64("KEY", black_box(&private)))
    });
    c.bench_function("key/public_parse", |b| {
        b.iter(|| RsaVerifier::from_spki_base64("KEY", black_box(&public)))
    });
}

criterion_group!(benches, request_cpu, channel_keys);
criterion_main!(benches);
