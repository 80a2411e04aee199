//! The readable form of each answer. Amounts are fen, rates basis points, as the API has them;
//! admin times are epoch seconds shown in UTC.

use crate::table::{epoch, grid, pairs};
use alloc_client::admin;
use alloc_client::*;

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

fn opt(v: &Option<String>) -> Option<String> {
    v.clone()
}

fn time(v: Option<i64>) -> Option<String> {
    v.map(epoch)
}

pub fn allocation(a: &Allocation) -> String {
    pairs(&[
        ("allocationNo", s(&a.allocation_no)),
        ("bizAllocationNo", s(&a.biz_allocation_no)),
        ("status", s(&a.status)),
    ])
}

pub fn order(o: &AllocOrder) -> String {
    let mut out = pairs(&[
        ("allocationNo", s(&o.allocation_no)),
        ("bizAllocationNo", s(&o.biz_allocation_no)),
        ("outAllocationNo", opt(&o.out_allocation_no)),
        ("orderNo", s(&o.order_no)),
        ("bizOrderNo", s(&o.biz_order_no)),
        ("outOrderNo", opt(&o.out_order_no)),
        ("title", opt(&o.title)),
        ("channel", s(&o.channel)),
        ("amount (fen)", s(o.amount)),
        ("description", opt(&o.description)),
        ("status", s(&o.status)),
        ("result", s(&o.result)),
        ("error", error(&o.error_code, &o.error_msg)),
        ("finishTime", opt(&o.finish_time)),
    ]);
    out.push('\n');
    let rows: Vec<Vec<String>> = o
        .details
        .iter()
        .map(|d| {
            vec![
                d.receiver_no.clone(),
                d.amount.to_string(),
                d.rate.to_string(),
                d.receiver_type.to_string(),
                d.receiver_account.clone(),
                d.receiver_name.clone().unwrap_or_default(),
                d.result.to_string(),
                error(&d.error_code, &d.error_msg).unwrap_or_default(),
                d.finish_time.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&grid(
        &[
            "RECEIVER", "FEN", "RATE", "TYPE", "ACCOUNT", "NAME", "RESULT", "ERROR", "FINISHED",
        ],
        &rows,
        "no receivers",
    ));
    out
}

fn error(code: &Option<String>, msg: &Option<String>) -> Option<String> {
    match (code, msg) {
        (None, None) => None,
        (c, m) => Some(format!(
            "{} {}",
            c.as_deref().unwrap_or(""),
            m.as_deref().unwrap_or("")
        ))
        .map(|t| t.trim().to_owned()),
    }
}

pub fn notices(n: &Notices) -> String {
    let mut out = pairs(&[
        ("allocationNo", s(&n.allocation_no)),
        ("bizAllocationNo", s(&n.biz_allocation_no)),
        ("status", s(&n.status)),
        ("flagged", s(n.flagged)),
    ]);
    out.push('\n');
    let mut rows = Vec::new();
    for notice in &n.notices {
        let what = match &notice.return_no {
            Some(no) => format!("{} ({no})", notice.status),
            None => notice.status.clone(),
        };
        let state = if notice.delivered {
            "delivered".to_owned()
        } else {
            match notice.next_at {
                Some(at) => format!("next {}", epoch(at)),
                None => "not delivered".to_owned(),
            }
        };
        rows.push(vec![
            what,
            notice.url.clone(),
            state,
            notice.attempts.len().to_string(),
        ]);
        for a in &notice.attempts {
            let result = match (a.delivered, a.http_status, &a.error) {
                (true, _, _) => "delivered".to_owned(),
                (false, Some(status), _) => format!("HTTP {status}"),
                (false, None, Some(e)) => e.clone(),
                (false, None, None) => "failed".to_owned(),
            };
            rows.push(vec![
                format!("  #{}", a.number),
                epoch(a.at),
                result,
                String::new(),
            ]);
        }
    }
    out.push_str(&grid(
        &["NOTICE", "URL / AT", "STATE", "ATTEMPTS"],
        &rows,
        "no notices",
    ));
    out
}

pub fn resent(r: &Resent) -> String {
    pairs(&[
        ("allocationNo", s(&r.allocation_no)),
        ("bizAllocationNo", s(&r.biz_allocation_no)),
        ("notice", s(&r.status)),
        ("nextAt", time(Some(r.next_at))),
    ])
}

pub fn pay_order(p: &PayOrder) -> String {
    pairs(&[
        ("orderNo", s(&p.order_no)),
        ("bizOrderNo", s(&p.biz_order_no)),
        ("outOrderNo", opt(&p.out_order_no)),
        ("title", s(&p.title)),
        ("channel", s(&p.channel)),
        ("method", opt(&p.method)),
        ("amount (fen)", s(p.amount)),
        ("status", s(&p.status)),
        ("allocation", s(p.allocation)),
        ("autoAllocation", s(p.auto_allocation)),
        ("allocStatus", opt(&p.alloc_status)),
        ("allocationNo", opt(&p.allocation_no)),
        ("refundStatus", opt(&p.refund_status)),
        ("refunded (fen)", s(p.refunded)),
        ("payTime", time(p.pay_time)),
        ("autoAllocationError", opt(&p.auto_allocation_error)),
    ])
}

pub fn allocatable(a: &Allocatable) -> String {
    pairs(&[
        ("orderNo", s(&a.order_no)),
        ("bizOrderNo", s(&a.biz_order_no)),
        ("channel", s(&a.channel)),
        ("amount (fen)", s(a.amount)),
        ("refunded (fen)", s(a.refunded)),
        ("allocationNo", opt(&a.allocation_no)),
        ("allocated (fen)", s(a.allocated)),
        ("allocatable (fen)", s(a.allocatable)),
        (
            "channel allocatable",
            a.channel_allocatable.map(|f| f.to_string()),
        ),
        ("channel error", opt(&a.channel_error)),
        ("freezeDeadline", time(a.freeze_deadline)),
    ])
}

/// A page of orders; `empty` is shown when it has none.
pub fn order_page(f: &OrderPage, empty: &str) -> String {
    let rows: Vec<Vec<String>> = f
        .orders
        .iter()
        .map(|o| {
            vec![
                o.allocation_no.clone(),
                o.biz_allocation_no.clone(),
                o.order_no.clone(),
                o.channel.to_string(),
                o.amount.to_string(),
                o.status.to_string(),
                epoch(o.created_at),
                o.sync_attempts.to_string(),
            ]
        })
        .collect();
    let mut out = grid(
        &[
            "ALLOCATION",
            "BIZ",
            "ORDER",
            "CHANNEL",
            "FEN",
            "STATUS",
            "CREATED",
            "SYNCS",
        ],
        &rows,
        empty,
    );
    if let Some(next) = &f.next_cursor {
        out.push_str(&format!("next page: --cursor {next}\n"));
    }
    out
}

pub fn sync_many(m: &SyncMany) -> String {
    let rows: Vec<Vec<String>> = m
        .orders
        .iter()
        .map(|o| {
            vec![
                o.allocation_no.clone(),
                o.outcome.to_string(),
                o.status
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    grid(&["ALLOCATION", "OUTCOME", "STATUS"], &rows, "no orders")
}

pub fn one_return(r: &Return) -> String {
    let plan = r.refund_royalty_parameters.as_ref().map(|rows| {
        rows.iter()
            .map(|row| serde_json::Value::Object(row.clone()).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    });
    pairs(&[
        ("returnNo", s(&r.return_no)),
        ("bizReturnNo", s(&r.biz_return_no)),
        ("allocationNo", s(&r.allocation_no)),
        ("bizAllocationNo", s(&r.biz_allocation_no)),
        ("orderNo", s(&r.order_no)),
        ("channel", s(&r.channel)),
        ("receiverNo", s(&r.receiver_no)),
        ("receiverType", s(&r.receiver_type)),
        ("receiverAccount", s(&r.receiver_account)),
        ("amount (fen)", s(r.amount)),
        ("status", s(&r.status)),
        ("description", opt(&r.description)),
        ("error", error(&r.error_code, &r.error_msg)),
        ("finishTime", time(r.finish_time)),
        ("bizRefundNo", opt(&r.biz_refund_no)),
        ("refundNo", opt(&r.refund_no)),
        ("refund plan", plan),
    ])
}

pub fn returns(all: &Returns) -> String {
    let mut out = pairs(&[
        ("allocationNo", s(&all.allocation_no)),
        ("bizAllocationNo", s(&all.biz_allocation_no)),
    ]);
    out.push('\n');
    let rows: Vec<Vec<String>> = all
        .receivers
        .iter()
        .map(|r| {
            vec![
                r.receiver_no.clone(),
                r.amount.to_string(),
                r.returned.to_string(),
                r.return_count.to_string(),
            ]
        })
        .collect();
    out.push_str(&grid(
        &["RECEIVER", "GOT (fen)", "RETURNED (fen)", "RETURNS"],
        &rows,
        "no receiver got a share",
    ));
    out.push('\n');
    let rows: Vec<Vec<String>> = all
        .returns
        .iter()
        .map(|r| {
            vec![
                r.return_no.clone(),
                r.biz_return_no.clone(),
                r.receiver_no.clone(),
                r.amount.to_string(),
                r.status.to_string(),
            ]
        })
        .collect();
    out.push_str(&grid(
        &["RETURN", "BIZ", "RECEIVER", "FEN", "STATUS"],
        &rows,
        "no returns",
    ));
    out
}

pub fn receivers(r: &Receivers) -> String {
    let rows: Vec<Vec<String>> = r
        .receivers
        .iter()
        .map(|r| {
            vec![
                r.receiver_no.clone(),
                r.channel.to_string(),
                r.receiver_type.to_string(),
                r.receiver_account.clone(),
                r.receiver_name.clone().unwrap_or_default(),
                r.relation_type.to_string(),
                r.relation_name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    grid(
        &[
            "RECEIVER",
            "CHANNEL",
            "TYPE",
            "ACCOUNT",
            "NAME",
            "RELATION",
            "RELATION NAME",
        ],
        &rows,
        "no receivers",
    )
}

pub fn groups(g: &Groups) -> String {
    let mut rows = Vec::new();
    for group in &g.groups {
        rows.push(vec![
            group.group_no.clone(),
            group.name.clone(),
            group.channel.to_string(),
            if group.default_group { "yes" } else { "" }.to_owned(),
            group.total_rate.to_string(),
            group.remark.clone().unwrap_or_default(),
        ]);
        for m in &group.receivers {
            rows.push(vec![
                format!("  {}", m.receiver_no),
                m.receiver_account.clone(),
                m.receiver_type.to_string(),
                String::new(),
                m.rate.to_string(),
                String::new(),
            ]);
        }
    }
    grid(
        &[
            "GROUP / RECEIVER",
            "NAME / ACCOUNT",
            "CHANNEL / TYPE",
            "DEFAULT",
            "RATE",
            "REMARK",
        ],
        &rows,
        "no groups",
    )
}

pub fn group_rates(g: &GroupRates) -> String {
    pairs(&[("groupNo", s(&g.group_no)), ("totalRate", s(g.total_rate))])
}

pub fn default_group(g: &DefaultGroup) -> String {
    pairs(&[("groupNo", s(&g.group_no)), ("channel", s(&g.channel))])
}

pub fn merchant(m: &admin::Merchant) -> String {
    pairs(&[
        ("mchNo", s(&m.mch_no)),
        ("name", s(&m.name)),
        ("status", s(&m.status)),
        ("createdAt", time(Some(m.created_at))),
        ("updatedAt", time(Some(m.updated_at))),
    ])
}

pub fn merchants(p: &admin::MerchantPage) -> String {
    let rows: Vec<Vec<String>> = p
        .merchants
        .iter()
        .map(|m| {
            vec![
                m.mch_no.clone(),
                m.name.clone(),
                m.status.clone(),
                epoch(m.created_at),
            ]
        })
        .collect();
    let mut out = grid(
        &["MCH_NO", "NAME", "STATUS", "CREATED"],
        &rows,
        "no merchants",
    );
    if let Some(next) = &p.next {
        out.push_str(&format!("next page: --cursor {next}\n"));
    }
    out
}

/// A JSON value as a cell: text as it is, anything else as compact JSON.
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub fn app(a: &admin::App) -> String {
    let mut out = pairs(&[
        ("appId", s(&a.app_id)),
        ("mchNo", s(&a.mch_no)),
        ("name", opt(&a.name)),
        ("status", s(&a.status)),
        ("signType", opt(&a.sign_type)),
        ("reqSign", a.req_sign.map(|r| r.to_string())),
        ("secretRotatedAt", time(a.secret_rotated_at)),
        (
            "previousSecretValidUntil",
            time(a.previous_secret_valid_until),
        ),
        ("createdAt", time(Some(a.created_at))),
        ("updatedAt", time(Some(a.updated_at))),
    ]);
    out.push('\n');
    let rows: Vec<Vec<String>> = a
        .settings
        .iter()
        .map(|(name, value)| {
            let own = if a.overrides.contains_key(name) {
                "yes"
            } else {
                ""
            };
            vec![name.clone(), cell(value), own.to_owned()]
        })
        .collect();
    out.push_str(&grid(
        &["SETTING", "VALUE", "SET HERE"],
        &rows,
        "no settings",
    ));
    out.push('\n');
    let rows: Vec<Vec<String>> = a
        .channels
        .iter()
        .map(|(channel, account)| {
            let mode = account.get("mode").map(cell).unwrap_or_default();
            vec![channel.clone(), mode, members(account)]
        })
        .collect();
    out.push_str(&grid(
        &["CHANNEL", "MODE", "ACCOUNT"],
        &rows,
        "no channel accounts",
    ));
    out
}

/// An account's public members but `mode`, as `name=value` (no view has a key or a token).
fn members(account: &serde_json::Value) -> String {
    account
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| *k != "mode" && !v.is_null())
        .map(|(k, v)| format!("{k}={}", cell(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A service provider and its own accounts.
pub fn provider(p: &admin::Provider) -> String {
    let mut out = pairs(&[
        ("providerId", s(&p.provider_id)),
        ("name", s(&p.name)),
        ("createdAt", time(Some(p.created_at))),
        ("updatedAt", time(Some(p.updated_at))),
    ]);
    out.push('\n');
    let rows: Vec<Vec<String>> = p
        .channels
        .iter()
        .map(|(channel, account)| vec![channel.clone(), members(account)])
        .collect();
    out.push_str(&grid(&["CHANNEL", "ACCOUNT"], &rows, "no channel accounts"));
    out
}

pub fn apps(apps: &[admin::App]) -> String {
    let rows: Vec<Vec<String>> = apps
        .iter()
        .map(|a| {
            vec![
                a.app_id.clone(),
                a.name.clone().unwrap_or_default(),
                a.status.clone(),
                a.sign_type.clone().unwrap_or_default(),
                a.channels.keys().cloned().collect::<Vec<_>>().join(","),
                epoch(a.created_at),
            ]
        })
        .collect();
    grid(
        &[
            "APP_ID",
            "NAME",
            "STATUS",
            "SIGN_TYPE",
            "CHANNELS",
            "CREATED",
        ],
        &rows,
        "no apps",
    )
}

/// An app and its new sign secret, printed this once (`rotated`: by `rotate-secret`).
pub fn app_secret(a: &admin::AppSecret, rotated: bool) -> String {
    let mut out = app(&a.app);
    out.push('\n');
    out.push_str(&pairs(&[("signSecret", s(&a.sign_secret))]));
    out.push_str(
        "The sign secret is shown only now and will not be shown again: store it safely.\n",
    );
    if rotated {
        match a.app.previous_secret_valid_until {
            Some(until) => out.push_str(&format!(
                "The previous secret still verifies until {}.\n",
                epoch(until)
            )),
            None => out.push_str("The previous secret no longer verifies.\n"),
        }
    }
    out
}

pub fn audit(p: &admin::AuditPage) -> String {
    let rows: Vec<Vec<String>> = p
        .records
        .iter()
        .map(|r| {
            let detail = if r.detail.is_null() {
                String::new()
            } else {
                cell(&r.detail)
            };
            vec![
                epoch(r.at),
                r.principal.clone(),
                r.action.clone(),
                r.target.clone(),
                detail,
            ]
        })
        .collect();
    let mut out = grid(
        &["AT", "PRINCIPAL", "ACTION", "TARGET", "DETAIL"],
        &rows,
        "no audit records",
    );
    if let Some(next) = &p.next {
        out.push_str(&format!("next page: --cursor {next}\n"));
    }
    out
}
