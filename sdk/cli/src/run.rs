//! One call per subcommand: the request from the arguments, the answer as a table (and its
//! verified `data`, for `--json`).

use crate::render;
use alloc_client::*;
use clap::ArgMatches;
use serde_json::{Map, Value};

/// A verified answer: its `data` as received, and its table.
pub struct Output {
    pub raw: Map<String, Value>,
    pub table: String,
}

pub enum Failure {
    Usage(String),
    Call(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Call(e)
    }
}

fn out<T>(answer: Answer<T>, table: impl FnOnce(&T) -> String) -> Output {
    Output {
        table: table(&answer.data),
        raw: answer.raw,
    }
}

fn string(m: &ArgMatches, id: &str) -> Option<String> {
    m.get_one::<String>(id).cloned()
}

fn required(m: &ArgMatches, id: &str) -> Result<String, Failure> {
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
