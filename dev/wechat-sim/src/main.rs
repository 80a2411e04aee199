//! `wechat-sim`: the fake WeChat Pay v3 profit-sharing server as a standalone process.
//!
//! ```text
//! wechat-sim --listen 127.0.0.1:PORT --mchid ID --appid ID --merchant-public-key B64
//!   --merchant-serial S --wechat-private-key B64 --wechat-public-key-id ID --apiv3-key KEY
//! wechat-sim keygen
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use wechat_sim::{SimConfig, WechatSim, generate_keypair};

const USAGE: &str = "usage:\n  wechat-sim --listen 127.0.0.1:PORT --mchid ID --appid ID \
--merchant-public-key B64 --merchant-serial S --wechat-private-key B64 \
--wechat-public-key-id ID --apiv3-key KEY\n  wechat-sim keygen   (prints private=<b64 pkcs8> and public=<b64 spki>)";

const FLAGS: [&str; 8] = [
    "--listen",
    "--mchid",
    "--appid",
    "--merchant-public-key",
    "--merchant-serial",
    "--wechat-private-key",
    "--wechat-public-key-id",
    "--apiv3-key",
];

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wechat-sim: {e}\n{USAGE}");
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
    let mut values: [Option<String>; FLAGS.len()] = Default::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let slot = FLAGS
            .iter()
            .position(|f| *f == flag)
            .ok_or(format!("unknown argument {flag}"))?;
        let value = match inline {
            Some(v) => v,
            None => rest
                .next()
                .cloned()
                .ok_or(format!("{flag} needs a value"))?,
        };
        values[slot] = Some(value);
    }
    let mut take = |i: usize| values[i].take().ok_or(format!("missing {}", FLAGS[i]));
    let listen: SocketAddr = take(0)?.parse().map_err(|e| format!("--listen: {e}"))?;
    let config = SimConfig {
        mchid: take(1)?,
        appid: take(2)?,
        merchant_public_key: take(3)?,
        merchant_serial: take(4)?,
        wechat_private_key: take(5)?,
        wechat_public_key_id: take(6)?,
        apiv3_key: take(7)?,
    };
    let sim = WechatSim::start(config, listen)
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
