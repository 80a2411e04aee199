//! One call per subcommand: the request from the arguments, the answer as a table (and its
//! verified `data`, for `--json`).

use crate::{providers, reconcile, render};
use alloc_client::admin::{
    AdminAnswer, AdminClient, AlipayAccount, AuditQuery, ChannelAccount, NewApp, Page,
    WechatAccount,
};
use alloc_client::*;
use clap::ArgMatches;
use serde_json::{Map, Value};
use std::path::Path;

/// A verified answer: its `data` as received, and its table.
pub struct Output {
    pub raw: Map<String, Value>,
    pub table: String,
}

pub enum Failure {
    Usage(String),
    Call(Error),
    Admin(AdminError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Call(e)
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        Failure::Admin(e)
    }
}

pub(crate) fn out<T>(answer: Answer<T>, table: impl FnOnce(&T) -> String) -> Output {
    Output {
        table: table(&answer.data),
        raw: answer.raw,
    }
}

pub(crate) fn string(m: &ArgMatches, id: &str) -> Option<String> {
    m.get_one::<String>(id).cloned()
}

pub(crate) fn required(m: &ArgMatches, id: &str) -> Result<String, Failure> {
    string(m, id).ok_or_else(|| Failure::Usage(format!("`{id}` is required")))
}

fn strings(m: &ArgMatches, id: &str) -> Vec<String> {
    m.get_many::<String>(id)
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}

/// A code the parser already restricted to the known ones.
fn code<T: std::str::FromStr<Err = String>>(
    m: &ArgMatches,
    id: &str,
) -> Result<Option<T>, Failure> {
    string(m, id)
        .map(|v| v.parse().map_err(Failure::Usage))
        .transpose()
}

fn required_code<T: std::str::FromStr<Err = String>>(
    m: &ArgMatches,
    id: &str,
) -> Result<T, Failure> {
    code(m, id)?.ok_or_else(|| Failure::Usage(format!("`{id}` is required")))
}

fn order_ref(m: &ArgMatches) -> OrderRef {
    OrderRef {
        allocation_no: string(m, "allocation_no"),
        biz_allocation_no: string(m, "biz_allocation_no"),
    }
}

fn pay_order_ref(m: &ArgMatches) -> PayOrderRef {
    PayOrderRef {
        order_no: string(m, "order_no"),
        biz_order_no: string(m, "biz_order_no"),
    }
}

fn named(r: &OrderRef) -> String {
    r.allocation_no
        .clone()
        .or_else(|| r.biz_allocation_no.clone())
        .unwrap_or_default()
}

fn done(answer: Answer<Done>, message: String) -> Output {
    Output {
        raw: answer.raw,
        table: format!("{message}\n"),
    }
}

/// Runs subcommand `name` (its arguments `m`) with `client`.
pub async fn call(client: &Client, name: &str, m: &ArgMatches) -> Result<Output, Failure> {
    Ok(match name {
        "start" => {
            let receivers = m.get_many::<(String, u64)>("receiver").map(|pairs| {
                pairs
                    .map(|(no, fen)| ReceiverAmount {
                        receiver_no: no.clone(),
                        amount: *fen,
                    })
                    .collect()
            });
            let r = StartRequest {
                biz_allocation_no: required(m, "biz_allocation_no")?,
                order_no: string(m, "order_no"),
                biz_order_no: string(m, "biz_order_no"),
                description: string(m, "description"),
                group_no: string(m, "group"),
                receivers,
                notify_url: string(m, "notify-url"),
                attach: string(m, "attach"),
                not_notify: m.get_flag("not-notify").then_some(true),
            };
            out(client.start(&r).await?, render::allocation)
        }
        "finish" => out(client.finish(&order_ref(m)).await?, render::allocation),
        "sync" => {
            let r = order_ref(m);
            let message = format!(
                "asked the channel about {}; `alloc query` shows the status",
                named(&r)
            );
            done(client.sync(&r).await?, message)
        }
        "query" => out(client.query_order(&order_ref(m)).await?, render::order),
        "notices" => out(client.query_notices(&order_ref(m)).await?, render::notices),
        "resend" => {
            let r = ResendRequest {
                order: order_ref(m),
                status: code(m, "status")?,
            };
            out(client.resend_notice(&r).await?, render::resent)
        }
        "orders" => match m.subcommand() {
            Some(("flagged", m)) => {
                let r = FlaggedRequest {
                    page_size: m.get_one::<u32>("page-size").copied(),
                    cursor: string(m, "cursor"),
                };
                out(client.flagged(&r).await?, |p| {
                    render::order_page(p, "no flagged orders")
                })
            }
            Some(("list", m)) => {
                let r = OrderListRequest {
                    status: required_code(m, "status")?,
                    day: required(m, "day")?,
                    page_size: m.get_one::<u32>("page-size").copied(),
                    cursor: string(m, "cursor"),
                };
                out(client.list_orders(&r).await?, |p| {
                    render::order_page(p, "no orders of that status and day")
                })
            }
            Some(("sync", m)) => {
                let r = SyncManyRequest {
                    allocation_nos: strings(m, "allocation_nos"),
                };
                out(client.sync_many(&r).await?, render::sync_many)
            }
            _ => return Err(Failure::Usage("orders: flagged, list or sync".into())),
        },
        "pay-order" => out(
            client.query_pay_order(&pay_order_ref(m)).await?,
            render::pay_order,
        ),
        "allocatable" => out(
            client.allocatable(&pay_order_ref(m)).await?,
            render::allocatable,
        ),
        "return" => match m.subcommand() {
            Some(("create", m)) => {
                let r = ReturnRequest {
                    biz_return_no: required(m, "biz_return_no")?,
                    order: OrderRef {
                        allocation_no: string(m, "allocation-no"),
                        biz_allocation_no: string(m, "biz-allocation-no"),
                    },
                    receiver_no: required(m, "receiver")?,
                    amount: m.get_one::<u64>("amount").copied().unwrap_or_default(),
                    description: string(m, "description"),
                    notify_url: string(m, "notify-url"),
                    attach: string(m, "attach"),
                    biz_refund_no: string(m, "biz-refund-no"),
                };
                out(client.create_return(&r).await?, render::one_return)
            }
            Some(("query", m)) => {
                let r = ReturnQuery {
                    return_no: string(m, "return-no"),
                    biz_return_no: string(m, "biz-return-no"),
                    order: OrderRef {
                        allocation_no: string(m, "allocation-no"),
                        biz_allocation_no: string(m, "biz-allocation-no"),
                    },
                };
                out(client.query_return(&r).await?, |a| match a {
                    ReturnAnswer::One(r) => render::one_return(r),
                    ReturnAnswer::Order(all) => render::returns(all),
                })
            }
            _ => return Err(Failure::Usage("return: create or query".into())),
        },
        "receivers" => match m.subcommand() {
            Some(("add", m)) => {
                let r = ReceiverAddRequest {
                    receiver_no: required(m, "receiver_no")?,
                    channel: required_code(m, "channel")?,
                    receiver_type: required_code(m, "type")?,
                    receiver_account: required(m, "account")?,
                    receiver_name: string(m, "name"),
                    relation_type: required_code(m, "relation")?,
                    relation_name: string(m, "relation-name"),
                };
                let message = format!("receiver {} added ({})", r.receiver_no, r.channel);
                done(client.add_receiver(&r).await?, message)
            }
            Some(("remove", m)) => {
                let r = ReceiverRef {
                    receiver_no: required(m, "receiver_no")?,
                };
                let message = format!("receiver {} removed", r.receiver_no);
                done(client.remove_receiver(&r).await?, message)
            }
            Some(("list", m)) => {
                let r = ReceiverQuery {
                    channel: code(m, "channel")?,
                    receiver_no: string(m, "receiver-no"),
                };
                out(client.query_receivers(&r).await?, render::receivers)
            }
            _ => return Err(Failure::Usage("receivers: add, remove or list".into())),
        },
        "groups" => groups(client, m).await?,
        "reconcile" => reconcile::call(client, m).await?,
        other => return Err(Failure::Usage(format!("unknown command `{other}`"))),
    })
}

async fn groups(client: &Client, m: &ArgMatches) -> Result<Output, Failure> {
    let Some((name, m)) = m.subcommand() else {
        return Err(Failure::Usage("groups: a subcommand is required".into()));
    };
    let group = || -> Result<GroupRef, Failure> {
        Ok(GroupRef {
            group_no: required(m, "group_no")?,
        })
    };
    let save = || -> Result<GroupSaveRequest, Failure> {
        Ok(GroupSaveRequest {
            group_no: required(m, "group_no")?,
            name: required(m, "name")?,
            channel: required_code(m, "channel")?,
            remark: string(m, "remark"),
        })
    };
    Ok(match name {
        "create" => out(client.create_group(&save()?).await?, |g| {
            format!("group {} created\n", g.group_no)
        }),
        "update" => out(client.update_group(&save()?).await?, render::group_rates),
        "delete" => out(client.delete_group(&group()?).await?, |g| {
            format!("group {} deleted\n", g.group_no)
        }),
        "bind" => {
            let receivers = m
                .get_many::<(String, u32)>("rates")
                .map(|pairs| {
                    pairs
                        .map(|(no, rate)| ReceiverRate {
                            receiver_no: no.clone(),
                            rate: *rate,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let r = GroupBindRequest {
                group_no: required(m, "group_no")?,
                receivers,
            };
            out(client.bind_receivers(&r).await?, render::group_rates)
        }
        "unbind" => {
            let r = GroupUnbindRequest {
                group_no: required(m, "group_no")?,
                receiver_nos: strings(m, "receiver_nos"),
            };
            out(client.unbind_receivers(&r).await?, render::group_rates)
        }
        "set-default" => out(
            client.set_default_group(&group()?).await?,
            render::default_group,
        ),
        "clear-default" => out(
            client.clear_default_group(&group()?).await?,
            render::default_group,
        ),
        "list" => {
            let r = GroupQuery {
                group_no: string(m, "group-no"),
                channel: code(m, "channel")?,
            };
            out(client.query_groups(&r).await?, render::groups)
        }
        other => return Err(Failure::Usage(format!("unknown command `groups {other}`"))),
    })
}

pub(crate) fn admin_out<T>(answer: AdminAnswer<T>, table: impl FnOnce(&T) -> String) -> Output {
    Output {
        table: table(&answer.data),
        raw: answer.raw,
    }
}

/// Runs `alloc admin ...` (its arguments `m`) with `client`.
pub async fn admin(client: &AdminClient, m: &ArgMatches) -> Result<Output, Failure> {
    let Some((group, m)) = m.subcommand() else {
        return Err(Failure::Usage("admin: a subcommand is required".into()));
    };
    let (name, sub) = m.subcommand().unwrap_or(("", m));
    Ok(match (group, name) {
        ("merchant", "create") => admin_out(
            client
                .create_merchant(&required(sub, "mch-no")?, &required(sub, "name")?)
                .await?,
            render::merchant,
        ),
        ("merchant", "list") => {
            let page = Page {
                limit: sub.get_one::<u32>("limit").copied(),
                cursor: string(sub, "cursor"),
            };
            admin_out(client.list_merchants(&page).await?, render::merchants)
        }
        ("merchant", "show") => admin_out(
            client.merchant(&required(sub, "mch_no")?).await?,
            render::merchant,
        ),
        ("merchant", "disable") => admin_out(
            client.disable_merchant(&required(sub, "mch_no")?).await?,
            render::merchant,
        ),
        ("merchant", "enable") => admin_out(
            client.enable_merchant(&required(sub, "mch_no")?).await?,
            render::merchant,
        ),
        ("app", "create") => {
            // `--sign-type` is the global flag (the merchant signer's), here only as given on
            // the command line: ALLOC_SIGN_TYPE or the file do not choose a new app's type.
            let sign_type = match sub.value_source("sign-type") {
                Some(clap::parser::ValueSource::CommandLine) => string(sub, "sign-type"),
                _ => None,
            };
            let app = NewApp {
                mch_no: required(sub, "mch-no")?,
                app_id: string(sub, "app-id"),
                name: string(sub, "name"),
                sign_type,
                settings: None,
            };
            admin_out(client.create_app(&app).await?, |a| {
                render::app_secret(a, false)
            })
        }
        ("app", "list") => admin_out(
            client.merchant_apps(&required(sub, "mch-no")?).await?,
            |apps| render::apps(apps),
        ),
        ("app", "show") => admin_out(client.app(&required(sub, "app_id")?).await?, render::app),
        ("app", "disable") => admin_out(
            client.disable_app(&required(sub, "app_id")?).await?,
            render::app,
        ),
        ("app", "enable") => admin_out(
            client.enable_app(&required(sub, "app_id")?).await?,
            render::app,
        ),
        ("app", "rotate-secret") => {
            let grace = sub.get_one::<u32>("grace-secs").copied();
            admin_out(
                client
                    .rotate_secret(&required(sub, "app_id")?, grace)
                    .await?,
                |a| render::app_secret(a, true),
            )
        }
        ("app", "settings") => {
            let mut settings = Map::new();
            for (name, value) in sub
                .get_many::<(String, Value)>("settings")
                .into_iter()
                .flatten()
            {
                if settings.insert(name.clone(), value.clone()).is_some() {
                    return Err(Failure::Usage(format!("setting `{name}` is given twice")));
                }
            }
            admin_out(
                client
                    .update_settings(&required(sub, "app_id")?, &settings)
                    .await?,
                render::app,
            )
        }
        ("channel", "set") => {
            let account = match string(sub, "mode").as_deref() {
                Some("provider") => providers::account(sub)?,
                _ => channel_account(sub)?,
            };
            admin_out(
                client
                    .set_channel(&required(sub, "app_id")?, &account)
                    .await?,
                render::app,
            )
        }
        ("channel", "remove") => admin_out(
            client
                .remove_channel(&required(sub, "app_id")?, &required(sub, "channel")?)
                .await?,
            render::app,
        ),
        ("provider", name) => providers::admin(client, name, sub).await?,
        ("reconcile", name) => reconcile::admin(client, name, sub).await?,
        ("audit", _) => {
            let q = AuditQuery {
                page: Page {
                    limit: m.get_one::<u32>("limit").copied(),
                    cursor: string(m, "cursor"),
                },
                target: string(m, "target"),
            };
            admin_out(client.audit(&q).await?, render::audit)
        }
        (group, name) => {
            return Err(Failure::Usage(format!(
                "unknown command `admin {group} {name}`"
            )));
        }
    })
}

/// The flags of one channel only: `ali_pay` and `wechat_pay` take different members.
pub(crate) const ALIPAY_ONLY: [&str; 6] = [
    "account-app-id",
    "app-cert-file",
    "alipay-cert-file",
    "root-cert-file",
    "gateway-url",
    "notify-url",
];
pub(crate) const WECHAT_ONLY: [&str; 6] = [
    "mchid",
    "appid",
    "merchant-serial",
    "public-key-id",
    "apiv3-key-file",
    "base-url",
];

/// A direct account (an app's, with `channel set`, or a provider's own) from its flags, keys
/// read from their files.
pub(crate) fn channel_account(m: &ArgMatches) -> Result<ChannelAccount, Failure> {
    let channel = required(m, "channel")?;
    let under_provider = ["provider"]
        .iter()
        .chain(&providers::WECHAT_PROVIDER_ONLY)
        .chain(&providers::ALIPAY_PROVIDER_ONLY);
    let why = "is for an account under a provider: add --mode provider";
    providers::refuse_given(m, under_provider, why)?;
    let others: &[&str] = if channel == "ali_pay" {
        &WECHAT_ONLY
    } else {
        &ALIPAY_ONLY
    };
    providers::refuse_given(m, others, &format!("is not for {channel}"))?;
    let need =
        |id: &str| string(m, id).ok_or_else(|| Failure::Usage(format!("{channel} needs --{id}")));
    let key = |id: &str| -> Result<String, Failure> { der_base64(&need(id)?) };
    if channel == "ali_pay" {
        let certs = ["app-cert-file", "alipay-cert-file", "root-cert-file"];
        let given = certs.iter().filter(|c| m.contains_id(c)).count();
        let cert_mode = match (m.contains_id("public-key-file"), given) {
            (true, 0) => false,
            (false, 3) => true,
            (true, _) => {
                return Err(Failure::Usage(
                    "ali_pay: --public-key-file or the three certificate files, not both".into(),
                ));
            }
            (false, _) => {
                return Err(Failure::Usage(
                    "ali_pay needs --public-key-file, or --app-cert-file, --alipay-cert-file and --root-cert-file".into(),
                ));
            }
        };
        let pem = |id: &str| -> Result<Option<String>, Failure> {
            if cert_mode {
                read_text(&need(id)?).map(Some)
            } else {
                Ok(None)
            }
        };
        Ok(ChannelAccount::Alipay(AlipayAccount {
            app_id: need("account-app-id")?,
            private_key: key("private-key-file")?,
            public_key: if cert_mode {
                None
            } else {
                Some(key("public-key-file")?)
            },
            app_cert: pem("app-cert-file")?,
            alipay_cert: pem("alipay-cert-file")?,
            root_cert: pem("root-cert-file")?,
            gateway_url: string(m, "gateway-url"),
            notify_url: string(m, "notify-url"),
            timeout_ms: None,
        }))
    } else {
        Ok(ChannelAccount::Wechat(WechatAccount {
            mchid: need("mchid")?,
            appid: need("appid")?,
            merchant_serial: need("merchant-serial")?,
            public_key_id: need("public-key-id")?,
            private_key: key("private-key-file")?,
            public_key: key("public-key-file")?,
            api_v3_key: read_text(&need("apiv3-key-file")?)?.trim().to_owned(),
            base_url: string(m, "base-url"),
            timeout_ms: None,
        }))
    }
}

pub(crate) fn read_text(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(Path::new(path)).map_err(|e| Failure::Usage(format!("{path}: {e}")))
}

/// A key file as the service wants it, base64 DER: the body of a PEM file (armour and line
/// breaks stripped), or the file's base64 as it is.
fn der_base64(path: &str) -> Result<String, Failure> {
    pem_body(&read_text(path)?).map_err(|e| Failure::Usage(format!("{path}: {e}")))
}

pub(crate) fn pem_body(text: &str) -> Result<String, String> {
    let body = match text.find("-----BEGIN ") {
        None => text,
        Some(start) => {
            let rest = &text[start..];
            // the BEGIN line ends at its own line break; the body ends at the END line
            let body_start = rest.find('\n').ok_or("a PEM BEGIN line without a body")?;
            let rest = &rest[body_start..];
            let end = rest
                .find("-----END ")
                .ok_or("a PEM block without its END line")?;
            &rest[..end]
        }
    };
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    // Standard base64: its alphabet, whole groups of four, `=` only as the final padding.
    let data = base64.trim_end_matches('=');
    let valid = data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        && base64.len().is_multiple_of(4)
        && base64.len() - data.len() <= 2;
    if data.is_empty() || !valid {
        return Err("not a PEM key or base64 DER".into());
    }
    Ok(base64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_sent_as_base64_der() {
        let pem = "-----BEGIN PUBLIC KEY-----\r\nMIIBIjAN\r\nBgkq\r\n-----END PUBLIC KEY-----\r\n";
        assert_eq!(pem_body(pem), Ok("MIIBIjANBgkq".into()));
        let with_text = "Bag Attributes\n-----BEGIN PRIVATE KEY-----\nMIIE\nvQ==\n-----END PRIVATE KEY-----\nafter";
        assert_eq!(pem_body(with_text), Ok("MIIEvQ==".into()));
        assert_eq!(pem_body("MIIBIjANBgkq\n"), Ok("MIIBIjANBgkq".into()));
        for bad in [
            "",
            "this is not a key",
            "-----BEGIN PRIVATE KEY-----\nMIIE",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIE\n-----END RSA PRIVATE KEY-----",
            "MII=E===",
        ] {
            assert!(pem_body(bad).is_err(), "{bad}");
        }
    }
}
