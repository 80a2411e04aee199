//! `alloc`: the allocation API from the command line (see `alloc --help`). Exit codes: 0
//! success, 1 the service refused, 2 usage, 3 transport, server or verification failure.

mod cli;
mod render;
mod run;
mod settings;
mod table;

use alloc_client::{Client, Error, RetryPolicy, Secret, Signer};
use clap::ArgMatches;
use run::Failure;
use serde_json::Value;
use std::process::ExitCode;

const REFUSED: u8 = 1;
const USAGE: u8 = 2;
const FAILED: u8 = 3;

fn main() -> ExitCode {
    let matches = match cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            // help and version are printed to stdout with 0; usage errors with 2
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE));
        }
    };
    let Some((name, sub)) = matches.subcommand() else {
        return usage("a command is required (see alloc --help)");
    };
    let env = |name: &str| std::env::var(name).ok();
    let sources = settings::Sources {
        matches: &matches,
        env: &env,
    };
    let settings = match settings::resolve(&sources, name == "sign") {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    if name == "sign" {
        return sign(sub, settings);
    }
    let client = match client(settings) {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("alloc: cannot start: {e}");
            return ExitCode::from(FAILED);
        }
    };
    let json = deepest(sub).get_flag("json");
    match runtime.block_on(run::call(&client, name, sub)) {
        Ok(output) => {
            if json {
                println!("{}", Value::Object(output.raw));
            } else {
                print!("{}", output.table);
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(e)) => usage(&e),
        Err(Failure::Call(e)) => failed(&e),
    }
}

/// The matches of the innermost subcommand (global flags are there too).
fn deepest(m: &ArgMatches) -> &ArgMatches {
    match m.subcommand() {
        Some((_, sub)) => deepest(sub),
        None => m,
    }
}

fn client(s: settings::Settings) -> Result<Client, String> {
    let url = s
        .url
        .ok_or("no service URL: give --url, set ALLOC_URL or `url = ...` in the config file")?;
    let secret = s.secret.ok_or(
        "no sign secret: set ALLOC_SIGN_SECRET, `sign_secret = ...` in the config file or give --sign-secret",
    )?;
    let mut builder = Client::builder(url, Signer::new(s.sign_type, Secret::new(secret)))
        .spelling(s.spelling)
        .timeout(s.timeout)
        .retry(RetryPolicy {
            max_attempts: s.retries + 1,
            ..RetryPolicy::default()
        });
    if let Some(ip) = s.client_ip {
        builder = builder.client_ip(ip);
    }
    builder.build().map_err(|e| e.to_string())
}

/// `alloc sign [--notice] JSON`: the JSON signed (as a request: with `reqTime` and a
/// `nonceStr` added when absent; as a notice: as it is).
fn sign(m: &ArgMatches, s: settings::Settings) -> ExitCode {
    let Some(secret) = s.secret else {
        return usage(
            "no sign secret: set ALLOC_SIGN_SECRET (or SIGN_SECRET), `sign_secret = ...` in the config file or give --sign-secret",
        );
    };
    let text = m.get_one::<String>("object").map_or("", String::as_str);
    let mut object = match alloc_protocol::json::parse_object(text.as_bytes()) {
        Ok(o) => o,
        Err(e) => return usage(&format!("JSON: {e}")),
    };
    let signer = Signer::new(s.sign_type, Secret::new(secret));
    if m.get_flag("notice") {
        signer.sign_in_place(&mut object);
    } else {
        alloc_client::sign_request(&signer, &mut object);
    }
    println!("{}", Value::Object(object));
    ExitCode::SUCCESS
}

fn usage(message: &str) -> ExitCode {
    eprintln!("alloc: {message}");
    ExitCode::from(USAGE)
}

fn failed(e: &Error) -> ExitCode {
    let trace = e
        .trace_id()
        .map(|t| format!(" (traceId {t})"))
        .unwrap_or_default();
    eprintln!("alloc: {e}{trace}");
    ExitCode::from(match e {
        e if e.is_refusal() => REFUSED,
        Error::Config(_) => USAGE,
        _ => FAILED,
    })
}
