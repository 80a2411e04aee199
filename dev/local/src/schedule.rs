//! An EventBridge schedule (`rate(...)` rule) for one [`FunctionHost`]: a Scheduled Event every N
//! seconds, the first one at once.
//!
//! Field names follow `aws_lambda_events` 1.x `CloudWatchEvent` / `EventBridgeEvent` (the tests
//! read the events back with both). EventBridge invokes asynchronously and Lambda retries a failed
//! asynchronous invocation (twice by default); locally a failure is only logged, and the next tick
//! comes as scheduled.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::MissedTickBehavior;

use crate::LocalError;
use crate::runtime::{ACCOUNT_ID, FunctionHost, HostError, Invocation, default_region, uuid_v4};

/// The name of the (imaginary) rule in the events' `resources`.
pub const RULE_NAME: &str = "local-every-minute";

const LOG: &str = "[schedule]";

/// The Scheduled Event EventBridge sends when a rule fires at `now` (to the second, in UTC), in
/// the region of [`default_region`].
pub fn scheduled_event(now: OffsetDateTime) -> Value {
    let region = default_region();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let time = now
        .to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default();
    json!({
        "version": "0",
        "id": uuid_v4(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time,
        "region": region,
        "resources": [format!("arn:aws:events:{region}:{ACCOUNT_ID}:rule/{RULE_NAME}")],
        "detail": {},
    })
}

/// Invokes the function with a [`scheduled_event`] every `every` (the first at once) until `stop`
/// completes, logging each tick's outcome to stderr. A tick that comes while the previous
/// invocation still runs is delayed, not doubled. Always stops the function before returning.
///
/// Function errors, timeouts and injected crashes are logged and the schedule goes on; it stops
/// with an error when the function process can no longer serve invocations (exited, failed to
/// initialise).
pub async fn run_schedule(
    host: Arc<FunctionHost>,
    every: Duration,
    stop: impl Future<Output = ()>,
) -> Result<(), LocalError> {
    let result = tick(&host, every, stop).await;
    host.stop().await;
    result
}

async fn tick(
    host: &FunctionHost,
    every: Duration,
    stop: impl Future<Output = ()>,
) -> Result<(), LocalError> {
    if every.is_zero() {
        return Err(LocalError::Invalid(
            "the schedule interval must be positive".into(),
        ));
    }
    let mut stop = pin!(stop);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            _ = ticks.tick() => {}
        }
        n += 1;
        let event = scheduled_event(OffsetDateTime::now_utc());
        let at = event["time"].as_str().unwrap_or("").to_owned();
        let started = Instant::now();
        let outcome = tokio::select! {
            biased;
            () = &mut stop => break,
            outcome = host.invoke(event) => outcome,
        };
        let ms = started.elapsed().as_millis();
        match outcome {
            Ok(Invocation::Response(body)) => {
                eprintln!(
                    "{LOG} tick {n} ({at}): ok in {ms} ms: {}",
                    crate::one_line(&body, 300)
                );
            }
            Ok(Invocation::Error { error_type, body }) => eprintln!(
                "{LOG} tick {n} ({at}): function error ({error_type}) in {ms} ms: {}",
                crate::error_message(&body)
            ),
            // A killed sandbox is replaced for the next tick (see `FunctionHost::invoke`).
            Err(e @ (HostError::Timeout { .. } | HostError::Killed { .. })) => {
                eprintln!("{LOG} tick {n} ({at}): {e}");
            }
            Err(e) => {
                eprintln!("{LOG} tick {n} ({at}): {e}");
                return Err(e.into());
            }
        }
    }
    eprintln!("{LOG} stopped after {n} ticks");
    Ok(())
}
