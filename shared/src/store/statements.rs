//! Reconciliation statements and their discrepancies (SPEC §4.13).
//!
//! | item | pk | sk | notes |
//! |---|---|---|---|
//! | statement | `RECON#<channel>` | `DAY#<yyyy-MM-dd>` | totals, status, the run it shows |
//! | discrepancy | `RECONDISC#<channel>#<day>` | `<run>#<seq>` | one per discrepancy of a run |
//!
//! A run writes its discrepancies first, under its own id, then the statement, conditioned on
//! the run it replaces: of two runs of one day only one is shown, and a run that died between
//! the two writes is simply not shown (its items expire). A statement that tells the merchant
//! (a `reconcile_discrepancy` notice) is written in one transaction with its notice.

use super::item::{Item, get_n, get_s, key, n, s};
use super::keys::Scope;
use super::notices::NoticeWrite;
use super::schema::{PK, SK, TTL};
use super::{Store, StoreError, db_err};
use crate::domain::{Channel, DiscrepancyRecord, StatementRecord, StatementStatus, Totals};
use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, TransactWriteItem, WriteRequest};

/// How long a discrepancy item is kept (a year and a quarter: past the channels' 3 months).
const KEEP_SECS: i64 = 460 * 86_400;

fn statement_key(sc: &Scope, channel: Channel, day: &str) -> Item {
    key(sc.pk(&format!("RECON#{channel}")), &format!("DAY#{day}"))
}

fn disc_pk(sc: &Scope, channel: Channel, day: &str) -> String {
    sc.pk(&format!("RECONDISC#{channel}#{day}"))
}

fn totals_into(item: &mut Item, prefix: &str, t: &Totals) {
    item.insert(
        format!("{prefix}Splits"),
        n(i64::try_from(t.splits).unwrap_or(i64::MAX)),
    );
    item.insert(format!("{prefix}SplitFen"), n(t.split_fen));
    item.insert(
        format!("{prefix}Returns"),
        n(i64::try_from(t.returns).unwrap_or(i64::MAX)),
    );
    item.insert(format!("{prefix}ReturnFen"), n(t.return_fen));
}

fn totals_of(item: &Item, prefix: &str) -> Totals {
    let count = |name: &str| {
        u64::try_from(get_n(item, &format!("{prefix}{name}")).unwrap_or(0)).unwrap_or(0)
    };
    Totals {
        splits: count("Splits"),
        split_fen: get_n(item, &format!("{prefix}SplitFen")).unwrap_or(0),
        returns: count("Returns"),
        return_fen: get_n(item, &format!("{prefix}ReturnFen")).unwrap_or(0),
    }
}

fn statement_from(item: &Item) -> Option<StatementRecord> {
    let count = |name: &str| u64::try_from(get_n(item, name).unwrap_or(0)).unwrap_or(0);
    Some(StatementRecord {
        channel: Channel::from_code(&get_s(item, "channel")?)?,
        day: get_s(item, "day")?,
        account: get_s(item, "account").unwrap_or_default(),
        status: StatementStatus::from_code(&get_s(item, "status")?)?,
        ours: totals_of(item, "ours"),
        theirs: totals_of(item, "theirs"),
        theirs_other: count("theirsOther"),
        discrepancies: count("discrepancies"),
        unresolved: count("unresolved"),
        bill_key: get_s(item, "billKey"),
        bill_sha1: get_s(item, "billSha1"),
        error: get_s(item, "error"),
        run: get_s(item, "run")?,
        reconciled_at: get_n(item, "reconciledAt").unwrap_or(0),
    })
}

fn opt(item: &mut Item, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        item.insert(name.into(), s(v));
    }
}

fn disc_item(pk: &str, sk: String, d: &DiscrepancyRecord, expires: i64) -> Item {
    let mut item = key(pk.to_owned(), &sk);
    item.insert("kind".into(), s(&d.kind));
    item.insert("number".into(), s(&d.number));
    item.insert("what".into(), s(&d.what));
    item.insert("receiver".into(), s(&d.receiver));
    for (name, v) in [("oursFen", d.ours_fen), ("channelFen", d.channel_fen)] {
        if let Some(v) = v {
            item.insert(name.into(), n(v));
        }
    }
    opt(&mut item, "oursStatus", &d.ours_status);
    opt(&mut item, "channelStatus", &d.channel_status);
    opt(&mut item, "channelNo", &d.channel_no);
    item.insert("resolved".into(), AttributeValue::Bool(d.resolved));
    item.insert("evidence".into(), s(&d.evidence));
    item.insert(TTL.into(), n(expires));
    item
}

fn disc_from(item: &Item) -> Option<DiscrepancyRecord> {
    Some(DiscrepancyRecord {
        kind: get_s(item, "kind")?,
        number: get_s(item, "number")?,
        what: get_s(item, "what")?,
        receiver: get_s(item, "receiver").unwrap_or_default(),
        ours_fen: get_n(item, "oursFen"),
        ours_status: get_s(item, "oursStatus"),
        channel_fen: get_n(item, "channelFen"),
        channel_status: get_s(item, "channelStatus"),
        channel_no: get_s(item, "channelNo"),
        resolved: matches!(item.get("resolved"), Some(AttributeValue::Bool(true))),
        evidence: get_s(item, "evidence").unwrap_or_default(),
    })
}

impl Store {
    /// The statement of `channel` and `day`, if the day was reconciled.
    pub async fn statement(
        &self,
        channel: Channel,
        day: &str,
    ) -> Result<Option<StatementRecord>, StoreError> {
        Ok(self
            .get(statement_key(&self.scope, channel, day))
            .await?
            .as_ref()
            .and_then(statement_from))
    }

    /// Keeps a run: its discrepancies, then the statement, if the day's statement still shows
    /// `replaces` (`None`: no statement yet), with `notice` in the same transaction. `false`:
    /// another run was kept meanwhile, or the notice changed since it was read.
    pub async fn save_statement(
        &self,
        st: &StatementRecord,
        discrepancies: &[DiscrepancyRecord],
        replaces: Option<&str>,
        notice: Option<NoticeWrite<'_>>,
    ) -> Result<bool, StoreError> {
        let pk = disc_pk(&self.scope, st.channel, &st.day);
        let expires = st.reconciled_at + KEEP_SECS;
        let items: Vec<Item> = discrepancies
            .iter()
            .enumerate()
            .map(|(i, d)| disc_item(&pk, format!("{}#{i:06}", st.run), d, expires))
            .collect();
        for chunk in items.chunks(25) {
            self.write_batch(chunk.to_vec()).await?;
        }
        let mut item = statement_key(&self.scope, st.channel, &st.day);
        item.insert("channel".into(), s(st.channel.code()));
        item.insert("day".into(), s(&st.day));
        item.insert("account".into(), s(&st.account));
        item.insert("status".into(), s(st.status.code()));
        totals_into(&mut item, "ours", &st.ours);
        totals_into(&mut item, "theirs", &st.theirs);
        let count = |v: u64| n(i64::try_from(v).unwrap_or(i64::MAX));
        item.insert("theirsOther".into(), count(st.theirs_other));
        item.insert("discrepancies".into(), count(st.discrepancies));
        item.insert("unresolved".into(), count(st.unresolved));
        opt(&mut item, "billKey", &st.bill_key);
        opt(&mut item, "billSha1", &st.bill_sha1);
        opt(&mut item, "error", &st.error);
        item.insert("run".into(), s(&st.run));
        item.insert("reconciledAt".into(), n(st.reconciled_at));
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match replaces {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            Some(run) => put
                .condition_expression("#run = :run")
                .expression_attribute_names("#run", "run")
                .expression_attribute_values(":run", s(run)),
        };
        let statement = TransactWriteItem::builder()
            .put(put.build().map_err(db_err)?)
            .build();
        let mut items = vec![statement];
        if let Some(notice) = notice {
            items.push(self.notice_put(notice)?);
        }
        Ok(self.transact(items).await?.is_none())
    }

    async fn write_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = items
            .into_iter()
            .filter_map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build().ok()?;
                Some(WriteRequest::builder().put_request(put).build())
            })
            .collect();
        for _ in 0..super::BATCH_READ_ROUNDS {
            if pending.is_empty() {
                return Ok(());
            }
            let out = self
                .db
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(db_err)?;
            pending = out
                .unprocessed_items
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Db("batch write left items unprocessed".into()))
        }
    }

    /// One page of the items of `pk` whose sort key is within `range` (inclusive), ascending
    /// or not, at most `limit`, strongly consistent.
    async fn between(
        &self,
        pk: String,
        (a, b): (String, String),
        ascending: bool,
        limit: i32,
    ) -> Result<Vec<Item>, StoreError> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :a AND :b")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":a", s(a))
            .expression_attribute_values(":b", s(b))
            .scan_index_forward(ascending)
            .limit(limit)
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        Ok(out.items.unwrap_or_default())
    }

    /// The statements of `channel` from `from` to `to` (days, inclusive), newest first.
    pub async fn statements(
        &self,
        channel: Channel,
        from: &str,
        to: &str,
        limit: i32,
    ) -> Result<Vec<StatementRecord>, StoreError> {
        let pk = self.scope.pk(&format!("RECON#{channel}"));
        let range = (format!("DAY#{from}"), format!("DAY#{to}"));
        let items = self.between(pk, range, false, limit).await?;
        Ok(items.iter().filter_map(statement_from).collect())
    }

    /// A page of the discrepancies of a statement's run, from number `from` (0-based), at most
    /// `limit`; the statement's count bounds what is read.
    pub async fn discrepancies(
        &self,
        st: &StatementRecord,
        from: u64,
        limit: i32,
    ) -> Result<Vec<DiscrepancyRecord>, StoreError> {
        if from >= st.discrepancies || limit <= 0 {
            return Ok(Vec::new());
        }
        let last = st.discrepancies - 1;
        let pk = disc_pk(&self.scope, st.channel, &st.day);
        let range = (
            format!("{}#{from:06}", st.run),
            format!("{}#{last:06}", st.run),
        );
        let items = self.between(pk, range, true, limit).await?;
        Ok(items.iter().filter_map(disc_from).collect())
    }
}
