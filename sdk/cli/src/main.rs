//! `alloc`: the allocation API from the command line (see `alloc --help`), and its admin API
//! (`alloc admin --help`). Exit codes: 0 success, 1 the service refused, 2 usage, 3 transport,
//! server or verification failure.

mod cli;
mod providers;
mod reconcile;
mod render;
mod run;
mod settings;
mod table;

use alloc_client::admin::{AdminClient, Credentials};
use alloc_client::{AdminError, Client, Error, RetryPolicy, Secret, Signer};
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
    let outcome = if name == "admin" {
        let admin = match admin_client(&settings, &env) {
            Ok(c) => c,
            Err(e) => return usage(&e),
        };
        runtime.block_on(run::admin(&admin, sub))
    } else {
        let client = match client(settings) {
            Ok(c) => c,
            Err(e) => return usage(&e),
        };
        runtime.block_on(run::call(&client, name, sub))
    };
    match outcome {
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
        Err(Failure::Admin(e)) => admin_failed(&e),
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

/// The admin API's client: the service URL, and the caller's AWS credentials and region from
/// the environment only (as the AWS CLI reads them first; no profiles or instance metadata).
fn admin_client(
    s: &settings::Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AdminClient, String> {
    let url = s
        .url
        .clone()
        .ok_or("no service URL: give --url, set ALLOC_URL or `url = ...` in the config file")?;
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let (Some(key_id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    else {
        return Err(
            "no AWS credentials: admin calls are signed with SigV4; set \
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)"
                .into(),
        );
    };
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_owned());
    let credentials = Credentials::new(key_id, secret, var("AWS_SESSION_TOKEN"));
    AdminClient::builder(url, credentials)
        .region(region)
        .timeout(s.timeout)
        .retry(RetryPolicy {
            max_attempts: s.retries + 1,
            ..RetryPolicy::default()
        })
        .build()
        .map_err(|e| e.to_string())
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
    if let Some(app_id) = m.get_one::<String>("beta4") {
        object
            .entry("appId")
            .or_insert_with(|| Value::from(app_id.as_str()));
        object
            .entry("reqTime")
            .or_insert_with(|| Value::from(beijing_now()));
        object
            .entry("nonceStr")
            .or_insert_with(|| Value::from(nonce()));
        object.remove("sign");
        let signature = signer.sign_beta4_request(&object);
        object.insert("sign".into(), Value::from(signature));
    } else if m.get_flag("notice") {
        signer.sign_in_place(&mut object);
    } else {
        alloc_client::sign_request(&signer, &mut object);
    }
    println!("{}", Value::Object(object));
    ExitCode::SUCCESS
}

/// Now as `yyyy-MM-dd HH:mm:ss` in Beijing time (DaxPay 3.x's `reqTime`).
fn beijing_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 8 * 3600;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // days since 1970-01-01 to a civil date (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// A fresh nonceStr: 16 random hex characters.
fn nonce() -> String {
    use rand::Rng;
    format!("{:016x}", rand::rng().random::<u64>())
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

fn admin_failed(e: &AdminError) -> ExitCode {
    eprintln!("alloc: {e}");
    ExitCode::from(match e {
        e if e.is_refusal() => REFUSED,
        AdminError::Config(_) => USAGE,
        _ => FAILED,
    })
}
