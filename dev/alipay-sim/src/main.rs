//! `alipay-sim`: the fake Alipay gateway as a standalone process, for the local run.
//!
//! ```text
//! alipay-sim --listen 127.0.0.1:PORT --app-id ID --app-public-key B64 --alipay-private-key B64 [--notify-url URL]
//! alipay-sim keygen
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use alipay_sim::{AlipaySim, SimConfig, generate_keypair};

const USAGE: &str = "usage:\n  alipay-sim --listen 127.0.0.1:PORT --app-id ID --app-public-key B64 \
--alipay-private-key B64 [--notify-url URL]\n  alipay-sim keygen   (prints private=<b64 pkcs8> and public=<b64 spki>)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alipay-sim: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("keygen") {
        let (private, public) = generate_keypair().map_err(|e| e.to_string())?;
        println!("private={private}\npublic={public}");
        return Ok(());
    }
    let mut listen = None;
    let mut app_id = None;
    let mut app_public_key = None;
    let mut alipay_private_key = None;
    let mut notify_url = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let slot = match flag {
            "--listen" => &mut listen,
            "--app-id" => &mut app_id,
            "--app-public-key" => &mut app_public_key,
            "--alipay-private-key" => &mut alipay_private_key,
            "--notify-url" => &mut notify_url,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        };
        let value = match inline {
            Some(v) => v,
            None => rest
                .next()
                .cloned()
                .ok_or(format!("{flag} needs a value"))?,
        };
        *slot = Some(value);
    }
    let need = |v: Option<String>, flag: &str| v.ok_or(format!("missing {flag}"));
    let listen: SocketAddr = need(listen, "--listen")?
        .parse()
        .map_err(|e| format!("--listen: {e}"))?;
    let config = SimConfig {
        app_id: need(app_id, "--app-id")?,
        app_public_key: need(app_public_key, "--app-public-key")?,
        alipay_private_key: need(alipay_private_key, "--alipay-private-key")?,
        notify_url,
    };
    let sim = AlipaySim::start(config, listen)
        .await
        .map_err(|e| e.to_string())?;
    println!("listening on {}", sim.base_url());
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    sim.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
