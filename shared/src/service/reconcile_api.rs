//! Reading reconciliation (SPEC §4.13, ours, merchant-signed): the statement of a day or the
//! statements of a range of days of the app's account at a channel, and a statement's
//! discrepancies, a page at a time. Each reads keys of the app's own (a statement, one query of
//! a range, one query of a page): another app's statements are never reached, and a day never
//! reconciled is refused as an unknown order is.

use super::Outcome;
use crate::app::App;
use crate::daxpay::reconcile_params::{Days, DiscrepancyParams, MAX_RANGE_DAYS, StatementParams};
use crate::daxpay::reconcile_views::{DiscrepancyView, StatementView};
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, Spelling, views};
use crate::domain::{BillDay, Channel, Refusal, StatementRecord};
use serde_json::{Map, Value};

fn not_found(channel: Channel, day: BillDay) -> Outcome {
    Refusal::StatementNotFound {
        channel,
        day: day.text(),
    }
    .into()
}

/// Listed views, each in the request's field names.
fn list<T: serde::Serialize>(items: impl Iterator<Item = T>, spelling: Spelling) -> Value {
    Value::Array(
        items
            .map(|item| Value::Object(views::data(&item, spelling)))
            .collect(),
    )
}

/// `POST /unipay/query/reconcileStatement`: `{statements: [...]}`, newest first: the day's
/// (refused when it was not reconciled), or those of the range that were (none: empty).
pub async fn statements(app: App, req: Verified<StatementParams>) -> Result<Outcome, ApiError> {
    let p = &req.params;
    let found = match p.days()? {
        Days::One(day) => match app.store.statement(p.channel, &day.text()).await? {
            Some(st) => vec![st],
            None => return Ok(not_found(p.channel, day)),
        },
        Days::Range(from, to) => {
            let most = i32::try_from(MAX_RANGE_DAYS).unwrap_or(i32::MAX);
            app.store
                .statements(p.channel, &from.text(), &to.text(), most)
                .await?
        }
    };
    let mut data = Map::new();
    data.insert(
        "statements".into(),
        list(found.iter().map(StatementView::from), req.common.spelling),
    );
    Ok(Outcome::Ok(data))
}

/// Where a page of `st`'s discrepancies starts: `<run>.<index>`, of the run the statement
/// shows (a cursor of a run since replaced is refused: read from the first page again).
fn start_of(cursor: Option<&str>, st: &StatementRecord) -> Result<u64, ApiError> {
    let Some(text) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    let bad = || ApiError::invalid("cursor", "must be a nextCursor this endpoint answered");
    let (run, index) = text.rsplit_once('.').ok_or_else(bad)?;
    let index: u64 = index.parse().map_err(|_| bad())?;
    if run != st.run {
        return Err(ApiError::invalid(
            "cursor",
            "is of a run the day's statement no longer shows (it was reconciled again): read from the first page",
        ));
    }
    if index > st.discrepancies {
        return Err(bad());
    }
    Ok(index)
}

/// `POST /unipay/query/reconcileDiscrepancies`: `{discrepancies: [...], total, nextCursor}`
/// in the order they were found; pass `nextCursor` back as `cursor` for the next page (absent
/// on the last). Refused when the day was not reconciled.
pub async fn discrepancies(
    app: App,
    req: Verified<DiscrepancyParams>,
) -> Result<Outcome, ApiError> {
    let p = &req.params;
    let day = p.bill_day()?;
    let Some(st) = app.store.statement(p.channel, &day.text()).await? else {
        return Ok(not_found(p.channel, day));
    };
    let from = start_of(p.cursor.as_deref(), &st)?;
    let size = i32::try_from(p.page_size()).unwrap_or(i32::MAX);
    let page = app.store.discrepancies(&st, from, size).await?;
    let next = from + page.len() as u64;
    let mut data = Map::new();
    data.insert(
        "discrepancies".into(),
        list(page.iter().map(DiscrepancyView::from), req.common.spelling),
    );
    data.insert("total".into(), Value::from(st.discrepancies));
    if !page.is_empty() && next < st.discrepancies {
        data.insert(
            "nextCursor".into(),
            Value::String(format!("{}.{next}", st.run)),
        );
    }
    Ok(Outcome::Ok(data))
}
