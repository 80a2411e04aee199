//! Benchmarks of the local runner.
//!
//! `local startup`: the init of several function binaries in one interleaved run (below).
//!
//! `local bench-scheduler`: how fast one scheduler run dispatches due items, against the
//! emulator at `$AWS_ENDPOINT_URL`. Seeds N due syncs into a fresh table, runs one tick with a
//! fresh queue, and prints the items dispatched per second and the run's time as a ratio of
//! the sum of its DynamoDB and SQS round trips (below 1: the round trips overlapped).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Round trips made and their total time.
#[derive(Debug, Clone, Default)]
pub struct CallClock(Arc<Mutex<(u64, Duration)>>);

#[derive(Debug, Clone)]
struct Sent(Instant);

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

impl CallClock {
    pub fn totals(&self) -> (u64, Duration) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Intercept for CallClock {
    fn name(&self) -> &'static str {
        "CallClock"
    }
    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Sent(Instant::now()));
        Ok(())
    }
    fn read_after_attempt(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Sent(at)) = cfg.load::<Sent>() {
            let mut t = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            t.0 += 1;
            t.1 += at.elapsed();
        }
        Ok(())
    }
}

/// Seeds `items` due syncs, dispatches them in one run and prints the figures.
pub async fn scheduler(items: usize) -> Result<String, String> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clock = CallClock::default();
    let plain = aws_sdk_dynamodb::Client::new(&sdk);
    let name = format!("bench-{}", std::process::id());
    shared::store::schema::create_table(&plain, &name)
        .await
        .map_err(|e| e.to_string())?;
    let now = shared::app::now_secs();
    let rows: Vec<WriteRequest> = (0..items)
        .map(|i| {
            let item = [
                ("pk", format!("ALLOC#BENCH{i:08}")),
                ("sk", "ORDER".to_owned()),
                ("duePk", "DUE#sync".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
            .chain([(
                "dueAt".to_owned(),
                AttributeValue::N((now - 10).to_string()),
            )])
            .collect();
            let put = PutRequest::builder().set_item(Some(item)).build();
            put.map(|p| WriteRequest::builder().put_request(p).build())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    for chunk in rows.chunks(25) {
        plain
            .batch_write_item()
            .request_items(&name, chunk.to_vec())
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    }
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(clock.clone())
            .build(),
    );
    let queue = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    let db = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(clock.clone())
            .build(),
    );
    let app = shared::app::App {
        tenant: shared::domain::Tenant::default_app(),
        verifier: shared::daxpay::request::Verifier {
            signer: shared::daxpay::sign::Signer::new(
                shared::daxpay::sign::SignType::HmacSha256,
                shared::daxpay::sign::Secret::new("bench"),
            ),
            require_sign: true,
            req_timeout_secs: 300,
            previous: None,
        },
        store: shared::store::Store::new(db, &name),
        clock: shared::infra::Clock::System,
        channels: Arc::default(),
        allocation_no_prefix: String::new(),
        queue: Some(shared::infra::Queue::new(
            sqs,
            queue.queue_url().unwrap_or_default(),
        )),
        archive: None,
        jobs: shared::infra::config::JobSettings::default(),
    };
    let started = Instant::now();
    let tick = shared::service::due::tick(&app, now, items).await?;
    let elapsed = started.elapsed();
    let (calls, busy) = clock.totals();
    let _ = plain.delete_table().table_name(&name).send().await;
    Ok(format!(
        "one scheduler run: {} of {items} due items dispatched in {:.2} s = {:.0} items/s; \
         {calls} round trips taking {:.2} s in all; run time / sum of round trips = {:.2}",
        tick.queued,
        elapsed.as_secs_f64(),
        tick.queued as f64 / elapsed.as_secs_f64().max(1e-9),
        busy.as_secs_f64(),
        elapsed.as_secs_f64() / busy.as_secs_f64().max(1e-9),
    ))
}

/// `local startup`: the init of several functions in one interleaved run. Each round starts
/// every function once (the order rotating round by round, so that no function always runs
/// first or after the same neighbour), timing spawn → first Runtime API poll. Prints each
/// function's median and p90, and its median as a ratio of the first function's (the yardstick).
pub async fn startup(
    functions: &[(String, std::path::PathBuf)],
    env: &[(String, String)],
    runs: usize,
) -> Result<String, String> {
    use crate::runtime::{FunctionHost, FunctionSpec};
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); functions.len()];
    for round in 0..runs {
        for k in 0..functions.len() {
            let i = (round + k) % functions.len();
            let (name, bin) = &functions[i];
            let mut spec = FunctionSpec::new(name.clone(), bin.clone());
            spec.env = env.to_vec();
            spec.quiet = true;
            let host = FunctionHost::start(spec)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            let ready = host.wait_ready(Duration::from_secs(30)).await;
            host.shutdown().await;
            let ready = ready.map_err(|e| format!("{name}: {e}"))?;
            times[i].push(ready.as_secs_f64() * 1000.0);
        }
    }
    let stats: Vec<(f64, f64)> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            let n = t.len();
            let median = if n % 2 == 1 {
                t[n / 2]
            } else {
                (t[n / 2 - 1] + t[n / 2]) / 2.0
            };
            let p90 = t[((0.9 * n as f64).ceil() as usize).clamp(1, n) - 1];
            (median, p90)
        })
        .collect();
    let base = stats.first().map_or(1.0, |s| s.0).max(1e-9);
    let mut out = format!("init (spawn → first /next poll), {runs} interleaved rounds:\n");
    for ((name, _), (median, p90)) in functions.iter().zip(&stats) {
        out.push_str(&format!(
            "  {name:<10} median {median:6.2} ms  p90 {p90:6.2} ms  ratio {:.2}\n",
            median / base
        ));
    }
    Ok(out)
}
