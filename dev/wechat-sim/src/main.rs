//! `wechat-sim`: the fake WeChat Pay v3 profit-sharing server as a standalone process.
//!
//! ```text
//! wechat-sim --listen 127.0.0.1:PORT --mchid ID --appid ID --merchant-public-key B64
//!   --merchant-serial S --wechat-private-key B64 --wechat-public-key-id ID --apiv3-key KEY
//!   [--extra-merchants '[{"mchid":..,"appid":..,"merchant_public_key":..,"merchant_serial":..}]']
//! wechat-sim keygen
//! ```

use std::process::ExitCode;

use sim_kit::cli::{self, Flags};
use wechat_sim::{MerchantAccount, SimConfig, WechatSim};

const USAGE: &str = "usage:\n  wechat-sim --listen 127.0.0.1:PORT --mchid ID --appid ID \
--merchant-public-key B64 --merchant-serial S --wechat-private-key B64 \
--wechat-public-key-id ID --apiv3-key KEY [--extra-merchants JSON]\n  \
(--extra-merchants: a JSON array of {\"mchid\",\"appid\",\"merchant_public_key\",\"merchant_serial\",\"apiv3_key\"?}: \
more merchants served at once)\n  wechat-sim keygen   (prints private=<b64 pkcs8> and public=<b64 spki>)";

const FLAGS: [&str; 9] = [
    "--listen",
    "--mchid",
    "--appid",
    "--merchant-public-key",
    "--merchant-serial",
    "--wechat-private-key",
    "--wechat-public-key-id",
    "--apiv3-key",
    "--extra-merchants",
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
    let extra: Vec<MerchantAccount> = match flags.optional("--extra-merchants") {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("--extra-merchants: {e}"))?,
        None => Vec::new(),
    };
    let sim = WechatSim::start(config, listen)
        .await
        .map_err(|e| e.to_string())?;
    for merchant in extra {
        let mchid = merchant.mchid.clone();
        if let Err(e) = sim.add_merchant(merchant) {
            sim.shutdown().await;
            return Err(format!("--extra-merchants: merchant {mchid}: {e}"));
        }
    }
    cli::serve_until_signal(&sim.base_url(), sim.shutdown()).await;
    Ok(())
}
