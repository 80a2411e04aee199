//! Reconciles one generated day and prints rows/s, for a memory figure under
//! `/usr/bin/time -v`: `cargo run --release -p bench --example reconcile_day -- 100000
//! [parse | compare | write]` (`write` only writes the bill: the generator's own cost). The bill is written as it is read, so the peak is the reader's (and, with
//! `compare`, our side's map), never the bill's.

use bench::bill::{Bill, ours};
use shared::reconcile::{Packing, read_wechat_bill, reconcile_wechat};
use std::time::Instant;

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let mode = std::env::args().nth(2).unwrap_or_default();
    if mode == "write" {
        let start = Instant::now();
        let bytes = std::io::copy(&mut Bill::new(rows), &mut std::io::sink()).unwrap_or(0);
        println!(
            "{rows} rows written, {bytes} bytes; {:.3} s",
            start.elapsed().as_secs_f64()
        );
        return;
    }
    let compare = mode != "parse";
    let hash = Bill::sha1_hex(rows);
    let start = Instant::now();
    let outcome = if compare {
        let side = ours(rows);
        reconcile_wechat(Bill::new(rows), Packing::Plain, &hash, side).map(|s| {
            format!(
                "{} discrepancies, ours {} splits {} returns",
                s.discrepancies.len(),
                s.ours.splits,
                s.ours.returns
            )
        })
    } else {
        let mut fen = 0i64;
        read_wechat_bill(Bill::new(rows), Packing::Plain, &hash, |r| {
            fen += r.amount_fen
        })
        .map(|s| format!("{} rows, {fen} fen", s.rows))
        .map_err(Into::into)
    };
    let secs = start.elapsed().as_secs_f64();
    match outcome {
        Ok(said) => println!(
            "{rows} rows {}: {said}; {secs:.3} s, {:.0} rows/s",
            if compare { "read and compared" } else { "read" },
            rows as f64 / secs
        ),
        Err(e) => println!("refused: {e}"),
    }
}
