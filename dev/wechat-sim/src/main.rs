//! `wechat-sim`: the fake WeChat Pay v3 profit-sharing server as a standalone process.
//!
//! ```text
//! wechat-sim --listen 127.0.0.1:PORT --mchid ID --appid ID --merchant-public-key B64
//!   --merchant-serial S --wechat-private-key B64 --wechat-public-key-id ID --apiv3-key KEY
//!   [--extra-merchants '[{"mchid":..,"appid":..,"merchant_public_key":..,"merchant_serial":..}]']
//!   [--providers '[{"sp_mchid":..,"sp_appid":..,"sp_public_key":..,"sp_serial":..}]']
//!   [--sub-merchants '[{"sp_mchid":..,"sub_mchid":..,"sub_appid":..,"max_ratio":..}]']
//! wechat-sim keygen
//! ```

use std::process::ExitCode;

use serde::de::DeserializeOwned;
use sim_kit::cli::{self, Flags};
use wechat_sim::{MerchantAccount, ProviderAccount, SimConfig, SubMerchantAccount, WechatSim};

const USAGE: &str = "usage:\n  wechat-sim --listen 127.0.0.1:PORT --mchid ID --appid ID \
--merchant-public-key B64 --merchant-serial S --wechat-private-key B64 \
--wechat-public-key-id ID --apiv3-key KEY [--extra-merchants JSON] [--providers JSON] \
[--sub-merchants JSON]\n  \
(--extra-merchants: a JSON array of {\"mchid\",\"appid\",\"merchant_public_key\",\"merchant_serial\",\"apiv3_key\"?}: \
more merchants served at once;\n   --providers: a JSON array of {\"sp_mchid\",\"sp_appid\",\"sp_public_key\",\"sp_serial\",\"apiv3_key\"?}: \
service providers (partner mode);\n   --sub-merchants: a JSON array of {\"sp_mchid\",\"sub_mchid\",\"sub_appid\"?,\"max_ratio\"?}: \
their sub-merchants)\n  wechat-sim keygen   (prints private=<b64 pkcs8> and public=<b64 spki>)";

const FLAGS: [&str; 11] = [
    "--listen",
    "--mchid",
    "--appid",
    "--merchant-public-key",
    "--merchant-serial",
    "--wechat-private-key",
    "--wechat-public-key-id",
    "--apiv3-key",
    "--extra-merchants",
    "--providers",
    "--sub-merchants",
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
    let extra: Vec<MerchantAccount> = json_list(&mut flags, "--extra-merchants")?;
    let providers: Vec<ProviderAccount> = json_list(&mut flags, "--providers")?;
    let subs: Vec<SubMerchantAccount> = json_list(&mut flags, "--sub-merchants")?;
    let sim = WechatSim::start(config, listen)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = register(&sim, extra, providers, subs) {
        sim.shutdown().await;
        return Err(e);
    }
    cli::serve_until_signal(&sim.base_url(), sim.shutdown()).await;
    Ok(())
}

/// A flag holding a JSON array; absent is empty.
fn json_list<T: DeserializeOwned>(flags: &mut Flags, flag: &str) -> Result<Vec<T>, String> {
    match flags.optional(flag) {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("{flag}: {e}")),
        None => Ok(Vec::new()),
    }
}

/// The accounts of the flags, providers before their sub-merchants.
fn register(
    sim: &WechatSim,
    extra: Vec<MerchantAccount>,
    providers: Vec<ProviderAccount>,
    subs: Vec<SubMerchantAccount>,
) -> Result<(), String> {
    for merchant in extra {
        let mchid = merchant.mchid.clone();
        sim.add_merchant(merchant)
            .map_err(|e| format!("--extra-merchants: merchant {mchid}: {e}"))?;
    }
    for provider in providers {
        let sp_mchid = provider.sp_mchid.clone();
        sim.add_provider(provider)
            .map_err(|e| format!("--providers: provider {sp_mchid}: {e}"))?;
    }
    for sub in subs {
        let sub_mchid = sub.sub_mchid.clone();
        sim.add_sub_merchant(sub)
            .map_err(|e| format!("--sub-merchants: sub-merchant {sub_mchid}: {e}"))?;
    }
    Ok(())
}
