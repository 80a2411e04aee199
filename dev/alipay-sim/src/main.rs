//! `alipay-sim`: the fake Alipay gateway as a standalone process, for the local run.
//!
//! ```text
//! alipay-sim --listen 127.0.0.1:PORT --app-id ID --app-public-key B64 --alipay-private-key B64 [--notify-url URL]
//!   [--extra-apps '[{"app_id":..,"app_public_key":..,"notify_url":..}]']
//!   [--authorizations '[{"isv_app_id":..,"user_id":..,"app_auth_token":..,"app_refresh_token":..}]']
//! alipay-sim keygen
//! ```

use std::process::ExitCode;

use alipay_sim::{AlipaySim, AppAccount, AppAuthorization, SimConfig};
use sim_kit::cli::{self, Flags};

const USAGE: &str = "usage:\n  alipay-sim --listen 127.0.0.1:PORT --app-id ID --app-public-key B64 \
--alipay-private-key B64 [--notify-url URL] [--extra-apps JSON] [--authorizations JSON]\n  \
(--extra-apps: a JSON array of {\"app_id\",\"app_public_key\",\"notify_url\"?}: more apps served at once;\n   \
--authorizations: a JSON array of {\"isv_app_id\",\"user_id\",\"auth_app_id\"?,\"app_auth_token\",\"app_refresh_token\",\
\"expires_in\"?,\"re_expires_in\"?}: merchants that authorised an app to act for them)\n  \
alipay-sim keygen   (prints private=<b64 pkcs8> and public=<b64 spki>)";

const FLAGS: [&str; 7] = [
    "--listen",
    "--app-id",
    "--app-public-key",
    "--alipay-private-key",
    "--notify-url",
    "--extra-apps",
    "--authorizations",
];

#[tokio::main]
async fn main() -> ExitCode {
    cli::main("alipay-sim", USAGE, &FLAGS, serve).await
}

async fn serve(mut flags: Flags) -> Result<(), String> {
    let listen = flags.listen()?;
    let config = SimConfig {
        app_id: flags.required("--app-id")?,
        app_public_key: flags.required("--app-public-key")?,
        alipay_private_key: flags.required("--alipay-private-key")?,
        notify_url: flags.optional("--notify-url"),
        cert: None,
    };
    let extra: Vec<AppAccount> = match flags.optional("--extra-apps") {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("--extra-apps: {e}"))?,
        None => Vec::new(),
    };
    let grants: Vec<AppAuthorization> = match flags.optional("--authorizations") {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("--authorizations: {e}"))?,
        None => Vec::new(),
    };
    let sim = AlipaySim::start(config, listen)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = register(&sim, extra, grants) {
        sim.shutdown().await;
        return Err(e);
    }
    cli::serve_until_signal(&sim.base_url(), sim.shutdown()).await;
    Ok(())
}

/// The accounts of the flags, apps before the authorisations naming them.
fn register(
    sim: &AlipaySim,
    extra: Vec<AppAccount>,
    grants: Vec<AppAuthorization>,
) -> Result<(), String> {
    for app in extra {
        let app_id = app.app_id.clone();
        sim.add_app(app)
            .map_err(|e| format!("--extra-apps: app {app_id}: {e}"))?;
    }
    for grant in grants {
        let user_id = grant.user_id.clone();
        sim.authorize_merchant(grant)
            .map_err(|e| format!("--authorizations: merchant {user_id}: {e}"))?;
    }
    Ok(())
}
