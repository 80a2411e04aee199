//! Logging: JSON lines inside Lambda (CloudWatch), readable text elsewhere. `RUST_LOG` filters
//! by level and target (`info`, `warn,shared=debug`, ...): `target=level` directives and a
//! default level. Span and field directives are not supported (the filter that understands
//! them links a regex engine, a fifth of a megabyte of every function for a debugging aid).

use std::str::FromStr;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_dynamodb=warn";

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if in_lambda && std::env::var("LOG_FORMAT").as_deref() != Ok("text") {
        registry.with(json_layer(std::io::stdout)).try_init()
    } else {
        use std::io::IsTerminal;
        registry
            .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init()
    };
}

/// Lambda's lines: one JSON object each, with the fields of every open span (`spans`): the
/// runtime's invocation span gives each line Lambda's `requestId` (and `xrayTraceId` when X-Ray
/// tracing is active), ours the order numbers. CloudWatch adds the time.
fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'s> tracing_subscriber::registry::LookupSpan<'s>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .without_time()
        .with_writer(writer)
}

/// The filter `RUST_LOG` asks for; the default when it is unset or unreadable.
fn filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| Targets::from_str(v).ok())
        .unwrap_or_else(|| Targets::from_str(DEFAULT_FILTER).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut out) = self.0.lock() {
                out.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_lambda_line_carries_the_invocation_and_the_order() {
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::registry().with(json_layer(move || sink.clone()));
        tracing::subscriber::with_default(subscriber, || {
            // as lambda_runtime opens it around each invocation
            let invoke = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                xrayTraceId = "Root=1-5759e988-bd862e3fe1be46a994272793"
            );
            let _invoke = invoke.enter();
            let job = tracing::info_span!("job", allocationNo = "A1");
            let _job = job.enter();
            tracing::warn!(alert = "notice_abandoned", "notice not delivered");
        });
        let text = lines
            .0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let text = text.unwrap_or_default();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
        assert_eq!(line["fields"]["alert"], "notice_abandoned", "{text}");
        assert_eq!(line["span"]["allocationNo"], "A1", "{text}");
        assert_eq!(
            line["spans"][0]["requestId"], "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "{text}"
        );
        assert_eq!(
            line["spans"][0]["xrayTraceId"], "Root=1-5759e988-bd862e3fe1be46a994272793",
            "{text}"
        );
    }

    #[test]
    fn rust_log_sets_levels_by_target_and_falls_back_to_the_default() {
        let f = filter(Some("warn,shared=debug"));
        assert!(f.would_enable("shared::store", &Level::DEBUG));
        assert!(!f.would_enable("hyper", &Level::INFO));
        let d = filter(None);
        assert!(d.would_enable("shared", &Level::INFO));
        assert!(!d.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(d.would_enable("aws_smithy_runtime", &Level::WARN));
        // a directive this filter cannot read leaves the default in place
        let odd = filter(Some("[span{x=1}]=trace"));
        assert!(
            odd.would_enable("shared", &Level::INFO) && !odd.would_enable("shared", &Level::TRACE)
        );
    }
}
