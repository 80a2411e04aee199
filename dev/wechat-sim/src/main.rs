//! `wechat-sim`: the fake WeChat Pay v3 profit-sharing server as a standalone process.
//!
//! ```text
//! wechat-sim --listen 127.0.0.1:PORT --mchid ID --appid ID --merchant-public-key B64
//!   --merchant-serial S --wechat-private-key B64 --wechat-public-key-id ID --apiv3-key KEY
//! wechat-sim keygen
//! ```

use std::process::ExitCode;

use sim_kit::cli::{self, Flags};
use wechat_sim::{SimConfig, WechatSim};

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
    cli::main("wechat-sim", USAGE, &FLAGS, serve).await
}

async fn serve(mut flags: Flags) -> Result<(), String> {
    let listen = flags.listen()?;
    let config = SimConfig {
        mchid: flags.required("--mchid")?,
        appid: flags.required("--appid")?,
        merchant_public_key: flags.required("--merchant-public-key")?,
        merchant_serial: flags.required("--merchant-serial")?,
        wechat_private_key: flags.required("--wechat-private-key")?,
        wechat_public_key_id: flags.required("--wechat-public-key-id")?,
        apiv3_key: flags.required("--apiv3-key")?,
    };
    let sim = WechatSim::start(config, listen)
        .await
        .map_err(|e| e.to_string())?;
    cli::serve_until_signal(&sim.base_url(), sim.shutdown()).await;
    Ok(())
}
