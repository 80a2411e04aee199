//! Reconciling a day (issue 24): a 100,000-row WeChat Pay profit-sharing bill read (hash,
//! backticks, yuan, summary) and compared with a matching side of ours. The bill is written as
//! it is read; throughput is in rows.

use bench::bill::{Bill, ours};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shared::reconcile::{Packing, read_wechat_bill, reconcile_wechat};
use std::hint::black_box;

const ROWS: u64 = 100_000;

fn reconcile(c: &mut Criterion) {
    let hash = Bill::sha1_hex(ROWS);
    let side = ours(ROWS);
    let check = reconcile_wechat(Bill::new(ROWS), Packing::Plain, &hash, side.clone());
    assert!(
        check
            .as_ref()
            .is_ok_and(|s| s.is_consistent() && s.channel.splits + s.channel.returns == ROWS),
        "the bench bill must match our side: {check:?}"
    );
    let mut group = c.benchmark_group("reconcile_100k");
    group.sample_size(10).throughput(Throughput::Elements(ROWS));
    group.bench_function("write_bill", |b| {
        b.iter(|| std::io::copy(&mut Bill::new(ROWS), &mut std::io::sink()).ok())
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let read = read_wechat_bill(Bill::new(ROWS), Packing::Plain, &hash, |r| {
                n += u64::from(black_box(r).amount_fen > 0)
            });
            (read.is_ok(), n)
        })
    });
    group.bench_function("parse+compare", |b| {
        b.iter_batched(
            || side.clone(),
            |side| reconcile_wechat(Bill::new(ROWS), Packing::Plain, &hash, side).is_ok(),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, reconcile);
criterion_main!(benches);
