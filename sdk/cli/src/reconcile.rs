//! `alloc reconcile ...` (a day's statement or a range's, a day's discrepancies a page at a
//! time) and `alloc admin reconcile run` (queue a day's re-run), SPEC §4.13: the request from
//! the flags, the answer as a table. Amounts are fen, as the API has them.

use crate::run::{Failure, Output, admin_out, out, required, string};
use crate::table::{epoch, grid, pairs};
use alloc_client::admin::{AdminClient, QueuedJob};
use alloc_client::{
    Channel, Client, DiscrepancyPage, DiscrepancyRequest, Statement, StatementRequest, Statements,
};
use clap::ArgMatches;

fn channel(m: &ArgMatches) -> Result<Channel, Failure> {
    required(m, "channel")?.parse().map_err(Failure::Usage)
}

/// Runs `alloc reconcile NAME ...`.
pub async fn call(client: &Client, m: &ArgMatches) -> Result<Output, Failure> {
    Ok(match m.subcommand() {
        Some(("statement", m)) => {
            let r = StatementRequest {
                channel: channel(m)?,
                day: string(m, "day"),
                from: string(m, "from"),
                to: string(m, "to"),
            };
            out(client.statements(&r).await?, statements)
        }
        Some(("discrepancies", m)) => {
            let r = DiscrepancyRequest {
                channel: channel(m)?,
                day: required(m, "day")?,
                page_size: m.get_one::<u32>("page-size").copied(),
                cursor: string(m, "cursor"),
            };
            out(client.discrepancies(&r).await?, discrepancies)
        }
        _ => {
            return Err(Failure::Usage(
                "reconcile: statement or discrepancies".into(),
            ));
        }
    })
}

/// Runs `alloc admin reconcile NAME ...`.
pub async fn admin(client: &AdminClient, name: &str, m: &ArgMatches) -> Result<Output, Failure> {
    match name {
        "run" => Ok(admin_out(
            client
                .rerun_reconcile(
                    &required(m, "app")?,
                    &required(m, "channel")?,
                    &required(m, "day")?,
                )
                .await?,
            queued,
        )),
        other => Err(Failure::Usage(format!(
            "unknown command `admin reconcile {other}`"
        ))),
    }
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// `count / fen`.
fn side(count: u64, fen: i64) -> String {
    format!("{count} / {fen}")
}

/// One statement in full; several as a grid, newest first.
pub fn statements(all: &Statements) -> String {
    if let [one] = all.statements.as_slice() {
        return statement(one);
    }
    let rows: Vec<Vec<String>> = all
        .statements
        .iter()
        .map(|st| {
            vec![
                st.day.clone(),
                st.status.to_string(),
                side(st.ours_splits, st.ours_split_amount),
                side(st.channel_splits, st.channel_split_amount),
                side(st.ours_returns, st.ours_return_amount),
                side(st.channel_returns, st.channel_return_amount),
                format!("{} ({} unresolved)", st.discrepancies, st.unresolved),
                epoch(st.reconciled_at),
            ]
        })
        .collect();
    grid(
        &[
            "DAY",
            "STATUS",
            "OUR SPLITS",
            "CHANNEL SPLITS",
            "OUR RETURNS",
            "CHANNEL RETURNS",
            "DISCREPANCIES",
            "RECONCILED",
        ],
        &rows,
        "no statements: no day of that range was reconciled",
    )
}

fn statement(st: &Statement) -> String {
    pairs(&[
        ("channel", s(&st.channel)),
        ("day", s(&st.day)),
        ("account", s(&st.account)),
        ("status", s(&st.status)),
        (
            "our splits (n / fen)",
            s(side(st.ours_splits, st.ours_split_amount)),
        ),
        (
            "channel splits (n / fen)",
            s(side(st.channel_splits, st.channel_split_amount)),
        ),
        (
            "our returns (n / fen)",
            s(side(st.ours_returns, st.ours_return_amount)),
        ),
        (
            "channel returns (n / fen)",
            s(side(st.channel_returns, st.channel_return_amount)),
        ),
        ("other bill rows", s(st.channel_other_rows)),
        ("discrepancies", s(st.discrepancies)),
        ("unresolved", s(st.unresolved)),
        ("error", st.error.clone()),
        ("reconciled", s(epoch(st.reconciled_at))),
        ("bill SHA-1", st.bill_sha1.clone()),
    ])
}

fn fen(v: Option<i64>) -> String {
    v.map(|f| f.to_string()).unwrap_or_default()
}

/// A page of discrepancies, with where the next one starts.
pub fn discrepancies(p: &DiscrepancyPage) -> String {
    let rows: Vec<Vec<String>> = p
        .discrepancies
        .iter()
        .map(|d| {
            vec![
                d.kind.clone(),
                d.what.clone(),
                d.number.clone(),
                d.receiver_account.clone(),
                fen(d.ours_amount),
                d.ours_status.clone().unwrap_or_default(),
                fen(d.channel_amount),
                d.channel_status.clone().unwrap_or_default(),
                if d.resolved { "yes" } else { "no" }.to_owned(),
                d.evidence.clone(),
            ]
        })
        .collect();
    let mut out = grid(
        &[
            "KIND",
            "WHAT",
            "NUMBER",
            "ACCOUNT",
            "OUR FEN",
            "OUR STATUS",
            "CHANNEL FEN",
            "CHANNEL STATUS",
            "RESOLVED",
            "EVIDENCE",
        ],
        &rows,
        "no discrepancies",
    );
    out.push_str(&format!("{} in all\n", p.total));
    if let Some(next) = &p.next_cursor {
        out.push_str(&format!("next page: --cursor {next}\n"));
    }
    out
}

fn queued(q: &QueuedJob) -> String {
    format!(
        "queued: {} of {} for app {} ({}); `alloc reconcile statement` shows it once the worker has run\n",
        q.day, q.channel, q.app_id, q.job
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(day: &str, status: &str) -> serde_json::Value {
        json!({"channel": "wechat_pay", "day": day, "account": "1900000109", "status": status,
            "oursSplits": 1, "oursSplitAmount": 3000, "oursReturns": 0, "oursReturnAmount": 0,
            "channelSplits": 4, "channelSplitAmount": 3600, "channelReturns": 0,
            "channelReturnAmount": 0, "channelOtherRows": 0, "discrepancies": 3,
            "unresolved": 3, "reconciledAt": 1_796_170_000})
    }

    #[test]
    fn one_statement_in_full_several_in_a_grid() {
        let read = |v| serde_json::from_value::<Statements>(v).unwrap_or_else(|e| panic!("{e}"));
        let single = statements(&read(
            json!({"statements": [one("2026-12-01", "discrepancies")]}),
        ));
        let words = single.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("channel splits (n / fen) 4 / 3600"),
            "{single}"
        );
        assert!(words.contains("bill SHA-1 -"), "{single}");
        let many = statements(&read(json!({"statements": [
            one("2026-12-02", "consistent"), one("2026-12-01", "discrepancies")]})));
        let lines: Vec<&str> = many.lines().collect();
        assert_eq!(lines.len(), 3, "{many}");
        assert!(lines[1].starts_with("2026-12-02  consistent"), "{many}");
        assert!(lines[2].contains("3 (3 unresolved)"), "{many}");
        assert!(statements(&read(json!({"statements": []}))).starts_with("no statements"));
    }
}
