//! `alloc admin provider ...` (a service provider and its own accounts) and `alloc admin channel
//! set ... --mode provider` (an app's account under one), SPEC §6.5: the request from the
//! flags, tokens read from files, the answer as a table.

use crate::render;
use crate::run::{
    ALIPAY_ONLY, Failure, Output, WECHAT_ONLY, admin_out, channel_account, read_text, required,
    string,
};
use alloc_client::admin::{AdminClient, AlipayAuthorization, ChannelAccount, WechatSubMerchant};
use clap::ArgMatches;

/// The flags of an account under a provider, by channel.
pub(crate) const WECHAT_PROVIDER_ONLY: [&str; 2] = ["sub-mchid", "sub-appid"];
pub(crate) const ALIPAY_PROVIDER_ONLY: [&str; 6] = [
    "user-id",
    "auth-app-id",
    "app-auth-token-file",
    "app-refresh-token-file",
    "expires-at",
    "refresh-expires-at",
];

/// Refuses the first of `flags` that was given (a flag `m`'s command does not have never
/// is), with `why` after its name.
pub(crate) fn refuse_given<'f>(
    m: &ArgMatches,
    flags: impl IntoIterator<Item = &'f &'f str>,
    why: &str,
) -> Result<(), Failure> {
    match flags
        .into_iter()
        .find(|f| m.try_contains_id(f).unwrap_or(false))
    {
        Some(flag) => Err(Failure::Usage(format!("--{flag} {why}"))),
        None => Ok(()),
    }
}

/// Runs `alloc admin provider NAME ...`.
pub async fn admin(client: &AdminClient, name: &str, m: &ArgMatches) -> Result<Output, Failure> {
    Ok(match name {
        "create" => admin_out(
            client
                .create_provider(&required(m, "provider-id")?, string(m, "name").as_deref())
                .await?,
            render::provider,
        ),
        "show" => admin_out(
            client.provider(&required(m, "provider_id")?).await?,
            render::provider,
        ),
        "channel" => match m.subcommand() {
            Some(("set", sub)) => {
                let account = channel_account(sub)?;
                admin_out(
                    client
                        .set_provider_channel(&required(sub, "provider_id")?, &account)
                        .await?,
                    render::provider,
                )
            }
            Some(("remove", sub)) => admin_out(
                client
                    .remove_provider_channel(
                        &required(sub, "provider_id")?,
                        &required(sub, "channel")?,
                    )
                    .await?,
                render::provider,
            ),
            _ => return Err(Failure::Usage("provider channel: set or remove".into())),
        },
        other => {
            return Err(Failure::Usage(format!(
                "unknown command `admin provider {other}`"
            )));
        }
    })
}

/// A token file's text: one line, not empty.
fn token(m: &ArgMatches, channel: &str, id: &str) -> Result<String, Failure> {
    let path = string(m, id)
        .ok_or_else(|| Failure::Usage(format!("{channel} --mode provider needs --{id}")))?;
    let text = read_text(&path)?.trim().to_owned();
    if text.is_empty() || text.contains(char::is_whitespace) {
        return Err(Failure::Usage(format!(
            "{path}: expected the token alone on one line"
        )));
    }
    Ok(text)
}

/// The account of `channel set ... --mode provider` from its flags.
pub fn account(m: &ArgMatches) -> Result<ChannelAccount, Failure> {
    let channel = required(m, "channel")?;
    let direct = ALIPAY_ONLY
        .iter()
        .chain(&WECHAT_ONLY)
        .chain(&["private-key-file", "public-key-file"]);
    refuse_given(
        m,
        direct,
        "is for a direct account, not --mode provider (the provider holds the keys)",
    )?;
    let others: &[&str] = if channel == "ali_pay" {
        &WECHAT_PROVIDER_ONLY
    } else {
        &ALIPAY_PROVIDER_ONLY
    };
    refuse_given(m, others, &format!("is not for {channel}"))?;
    let need = |id: &str| {
        string(m, id)
            .ok_or_else(|| Failure::Usage(format!("{channel} --mode provider needs --{id}")))
    };
    let epoch = |id: &str| {
        m.get_one::<i64>(id)
            .copied()
            .ok_or_else(|| Failure::Usage(format!("{channel} --mode provider needs --{id}")))
    };
    let provider = need("provider")?;
    if channel == "ali_pay" {
        Ok(ChannelAccount::AlipayProvider(AlipayAuthorization {
            provider,
            user_id: need("user-id")?,
            auth_app_id: string(m, "auth-app-id"),
            app_auth_token: token(m, &channel, "app-auth-token-file")?,
            app_refresh_token: token(m, &channel, "app-refresh-token-file")?,
            expires_at: epoch("expires-at")?,
            refresh_expires_at: epoch("refresh-expires-at")?,
        }))
    } else {
        Ok(ChannelAccount::WechatProvider(WechatSubMerchant {
            provider,
            sub_mchid: need("sub-mchid")?,
            sub_appid: string(m, "sub-appid"),
        }))
    }
}
