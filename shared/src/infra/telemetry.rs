//! Logging: JSON lines inside Lambda (CloudWatch), readable text elsewhere. `RUST_LOG` filters.

use tracing_subscriber::EnvFilter;

const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_dynamodb=warn";

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if in_lambda && std::env::var("LOG_FORMAT").as_deref() != Ok("text") {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .try_init()
    } else {
        use std::io::IsTerminal;
        builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init()
    };
}
