//! Runs a 50-receiver start's request CPU many times, for a profiler (`valgrind --tool=callgrind`
//! or `perf record`): `cargo run --release -p bench --example start50 -- 20000 [parse | N]`,
//! where N is how many receivers the start names instead of 50.

use shared::daxpay::params::StartParams;
use shared::daxpay::request::Verifier;
use std::hint::black_box;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let v = Verifier {
        signer: bench::signer(),
        require_sign: true,
        req_timeout_secs: 300,
        previous: None,
    };
    let receivers = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let body = bench::start_body(receivers);
    let mut ok = 0usize;
    if std::env::args().nth(2).as_deref() == Some("parse") {
        for _ in 0..rounds {
            let arena = shared::daxpay::json::Arena::for_body(body.len());
            ok += usize::from(shared::daxpay::json::parse_tree(black_box(&body), &arena).is_ok());
        }
        println!("{ok} of {rounds} parsed");
        return;
    }
    for _ in 0..rounds {
        let req = v.verify::<StartParams>(black_box(&body), bench::NOW);
        if let Ok(r) = req {
            black_box(r.params.digest());
            ok += 1;
        }
    }
    println!("{ok} of {rounds} verified");
}
