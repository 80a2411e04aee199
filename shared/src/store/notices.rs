//! Merchant notices (SPEC §4.7): the outbox item written with a status change, each attempt
//! claimed and recorded by conditional updates.

use super::item::{Item, due_of, get_n, get_s, insert_due, n, need, s};
use super::keys::Scope;
use super::keys::notice_key;
use super::{Store, StoreError, conditional, db_err};
use crate::domain::{DueKind, Notice, NoticeAttempt, Schedule, Topic};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use std::collections::HashMap;

/// A notice written in the transaction of the change it tells of: a new one, or one in place of
/// the notice of the same name whose body was read (`replaces`), so that a notice changed
/// meanwhile cancels the transaction.
#[derive(Debug, Clone, Copy)]
pub struct NoticeWrite<'a> {
    pub notice: &'a Notice,
    pub replaces: Option<&'a str>,
}

fn attempt_to_value(a: &NoticeAttempt) -> AttributeValue {
    let mut m = HashMap::from([
        ("number".to_owned(), n(a.number)),
        ("at".to_owned(), n(a.at)),
        ("delivered".to_owned(), AttributeValue::Bool(a.delivered)),
    ]);
    if let Some(st) = a.status {
        m.insert("status".into(), n(i64::from(st)));
    }
    if let Some(e) = &a.error {
        m.insert("error".into(), s(e));
    }
    AttributeValue::M(m)
}

fn attempt_from_value(v: &AttributeValue) -> Option<NoticeAttempt> {
    let m = v.as_m().ok()?;
    Some(NoticeAttempt {
        number: get_n(m, "number")?,
        at: get_n(m, "at")?,
        delivered: matches!(m.get("delivered"), Some(AttributeValue::Bool(true))),
        status: get_n(m, "status").and_then(|x| u16::try_from(x).ok()),
        error: get_s(m, "error"),
    })
}

pub(super) fn notice_to_item(sc: &Scope, notice: &Notice) -> Item {
    let mut item = notice_key(sc, &notice.subject, &notice.topic);
    // `allocationNo`: the subject (an orderNo for a pay order's notice), as before topics
    item.insert("allocationNo".into(), s(&notice.subject));
    item.insert("status".into(), s(notice.topic.code()));
    item.insert("url".into(), s(&notice.url));
    item.insert("body".into(), s(&notice.body));
    item.insert("delivered".into(), AttributeValue::Bool(notice.delivered));
    item.insert("attemptCount".into(), n(notice.attempts.len() as i64));
    item.insert(
        "attempts".into(),
        AttributeValue::L(notice.attempts.iter().map(attempt_to_value).collect()),
    );
    if let Some(at) = notice.next_at {
        item.insert("nextAt".into(), n(at));
    }
    item.insert(
        "schedule".into(),
        AttributeValue::L(notice.schedule.delays.iter().map(|d| n(*d)).collect()),
    );
    item.insert("maxAttempts".into(), n(notice.schedule.max_attempts));
    insert_due(&mut item, notice.due);
    item
}

/// The schedule stored on a notice; notices written before schedules were stored follow
/// DaxPay's.
fn schedule_of(item: &Item) -> Schedule {
    let Some(AttributeValue::L(list)) = item.get("schedule") else {
        return Schedule::daxpay();
    };
    let delays: Vec<i64> = list
        .iter()
        .filter_map(|v| v.as_n().ok().and_then(|x| x.parse().ok()))
        .collect();
    let mut schedule = Schedule::new(delays);
    if let Some(max) = get_n(item, "maxAttempts") {
        schedule.max_attempts = max;
    }
    schedule
}

pub(super) fn notice_from_item(item: &Item) -> Result<Notice, StoreError> {
    let code = |name: &str| need(get_s(item, name), name);
    let attempts = match item.get("attempts") {
        Some(AttributeValue::L(list)) => list.iter().filter_map(attempt_from_value).collect(),
        _ => Vec::new(),
    };
    Ok(Notice {
        subject: code("allocationNo")?,
        topic: need(Topic::parse(&code("status")?), "status")?,
        url: code("url")?,
        body: code("body")?,
        delivered: matches!(item.get("delivered"), Some(AttributeValue::Bool(true))),
        claimed: get_n(item, "attemptCount").unwrap_or(attempts.len() as i64),
        claim_lease: get_n(item, "claimLease"),
        attempts,
        next_at: get_n(item, "nextAt"),
        due: due_of(item),
        schedule: schedule_of(item),
    })
}

impl Store {
    /// The put of a [`NoticeWrite`], for a transaction.
    pub(super) fn notice_put(
        &self,
        write: NoticeWrite<'_>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(notice_to_item(&self.scope, write.notice)));
        let put = match write.replaces {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(body) => put
                .condition_expression("#body = :old")
                .expression_attribute_names("#body", "body")
                .expression_attribute_values(":old", s(body)),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(db_err)?)
            .build())
    }

    /// The notice of `subject` and `topic`.
    pub async fn notice(&self, subject: &str, topic: &Topic) -> Result<Option<Notice>, StoreError> {
        match self.get(notice_key(&self.scope, subject, topic)).await? {
            Some(item) => notice_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Starts attempt number `attempts + 1` of a notice (undelivered, still at `attempts`
    /// attempts), leasing it until `lease_until`. `false`: someone else has it, or it is done.
    pub async fn start_notice_attempt(
        &self,
        subject: &str,
        topic: &Topic,
        attempts: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(notice_key(&self.scope, subject, topic)))
            .update_expression("SET attemptCount = :next, dueAt = :lease, claimLease = :lease")
            .condition_expression("attemptCount = :n AND delivered = :no AND nextAt <= :now")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":next", n(attempts + 1))
            .expression_attribute_values(":lease", n(lease_until))
            .expression_attribute_values(":n", n(attempts))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await;
        conditional(result)
    }

    /// Makes a notice due again now, with one more attempt allowed (the merchant asked for it
    /// again). `Ok(false)`: there is no such notice.
    pub async fn resend_notice(
        &self,
        subject: &str,
        topic: &Topic,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(notice_key(&self.scope, subject, topic)))
            .update_expression(
                "SET delivered = :no, nextAt = :now, duePk = :p, dueAt = :now, \
                 maxAttempts = if_not_exists(maxAttempts, :default) + :one",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":p", s(DueKind::Notify.partition()))
            .expression_attribute_values(":default", n(Schedule::daxpay().max_attempts))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        conditional(result)
    }

    /// Records a claimed attempt; `next_due`: when to try again (none: delivered or given up).
    /// `Ok(false)`: the attempt is recorded already (another job found it interrupted and
    /// recorded it as failed).
    pub async fn record_notice_attempt(
        &self,
        subject: &str,
        topic: &Topic,
        attempt: &NoticeAttempt,
        next_due: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut update = String::from(
            "SET attempts = list_append(if_not_exists(attempts, :empty), :new), delivered = :d",
        );
        let mut req = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(notice_key(&self.scope, subject, topic)))
            .condition_expression(
                "attemptCount = :n AND (attribute_not_exists(attempts) OR size(attempts) < :n)",
            )
            .expression_attribute_values(":n", n(attempt.number))
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":new", AttributeValue::L(vec![attempt_to_value(attempt)]))
            .expression_attribute_values(":d", AttributeValue::Bool(attempt.delivered));
        match next_due {
            Some(at) => {
                update.push_str(", dueAt = :at, nextAt = :at");
                req = req.expression_attribute_values(":at", n(at));
            }
            None => update.push_str(" REMOVE duePk, dueAt, nextAt"),
        }
        conditional(req.update_expression(update).send().await)
    }
}
