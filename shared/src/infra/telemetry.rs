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
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .without_time(),
            )
            .try_init()
    } else {
        use std::io::IsTerminal;
        registry
            .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init()
    };
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
