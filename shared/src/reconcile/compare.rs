//! Comparing our splits and returns of a day with the channel's bill rows, streamed: our side
//! is held in a map keyed by number and receiver, the bill's rows pass through one at a time,
//! so memory is bounded by our side of the day, never by the bill.

use super::rows::{BillKind, BillRow, BillStatus, OurRow, OurStatus};
use std::collections::HashMap;

pub use crate::domain::Totals;

/// The four kinds of discrepancy (SPEC §4.13), with their wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscrepancyKind {
    /// We recorded a split or return (succeeded, or not yet finished) that the bill lacks.
    MissingAtChannel,
    /// The bill has a split or return we did not make (made outside this service).
    MissingHere,
    /// Both have it, with different amounts.
    AmountMismatch,
    /// Both have it, in different states (ours processing or failed, or the channel's not a
    /// success).
    StatusMismatch,
}

impl DiscrepancyKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingAtChannel => "missing_at_channel",
            Self::MissingHere => "missing_here",
            Self::AmountMismatch => "amount_mismatch",
            Self::StatusMismatch => "status_mismatch",
        }
    }
}

/// One disagreement between the two sides, with the rows that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    MissingAtChannel { ours: OurRow },
    MissingHere { channel: BillRow },
    AmountMismatch { ours: OurRow, channel: BillRow },
    StatusMismatch { ours: OurRow, channel: BillRow },
}

impl Discrepancy {
    pub fn kind(&self) -> DiscrepancyKind {
        match self {
            Self::MissingAtChannel { .. } => DiscrepancyKind::MissingAtChannel,
            Self::MissingHere { .. } => DiscrepancyKind::MissingHere,
            Self::AmountMismatch { .. } => DiscrepancyKind::AmountMismatch,
            Self::StatusMismatch { .. } => DiscrepancyKind::StatusMismatch,
        }
    }
}

/// Counts a compared row into one side's totals.
fn add(totals: &mut Totals, kind: &BillKind, fen: i64) {
    match kind {
        BillKind::Split => {
            totals.splits += 1;
            totals.split_fen = totals.split_fen.saturating_add(fen);
        }
        BillKind::Return => {
            totals.returns += 1;
            totals.return_fen = totals.return_fen.saturating_add(fen);
        }
        BillKind::Other(_) => {}
    }
}

/// A day's statement for one channel account: both sides' totals and every discrepancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Our successful splits and returns.
    pub ours: Totals,
    /// The bill's split and return rows.
    pub channel: Totals,
    /// Bill rows of a type not compared ([`BillKind::Other`]).
    pub channel_other: u64,
    pub discrepancies: Vec<Discrepancy>,
}

impl Statement {
    pub fn is_consistent(&self) -> bool {
        self.discrepancies.is_empty()
    }

    pub fn count(&self, kind: DiscrepancyKind) -> usize {
        self.discrepancies
            .iter()
            .filter(|d| d.kind() == kind)
            .count()
    }
}

/// Our side given twice for one number and receiver: the records are wrong, not the bill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("our side lists {number} for receiver {receiver} twice")]
pub struct DuplicateOurs {
    pub number: String,
    pub receiver: String,
}

/// Compares as the bill streams by. Feed our side first ([`Reconciler::add_ours`], in batches
/// in any order), then each bill row ([`Reconciler::channel_row`]), then [`Reconciler::finish`].
#[derive(Debug, Default)]
pub struct Reconciler {
    /// Ours not yet matched, by the number the bill carries; a number's few receivers in a list.
    ours: HashMap<String, Vec<OurRow>>,
    ours_totals: Totals,
    channel_totals: Totals,
    channel_other: u64,
}

impl Reconciler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch of our rows. A second row for the same number, receiver and kind is refused.
    pub fn add_ours(
        &mut self,
        batch: impl IntoIterator<Item = OurRow>,
    ) -> Result<(), DuplicateOurs> {
        for row in batch {
            let same = self.ours.entry(row.number().to_owned()).or_default();
            if same
                .iter()
                .any(|o| o.receiver == row.receiver && o.kind() == row.kind())
            {
                return Err(DuplicateOurs {
                    number: row.number().to_owned(),
                    receiver: row.receiver,
                });
            }
            if row.status == OurStatus::Success {
                add(&mut self.ours_totals, &row.kind(), row.amount_fen);
            }
            same.push(row);
        }
        Ok(())
    }

    /// Matches one bill row against ours; the discrepancy it shows, if any.
    pub fn channel_row(&mut self, row: BillRow) -> Option<Discrepancy> {
        if let BillKind::Other(_) = row.kind {
            self.channel_other += 1;
            return None;
        }
        add(&mut self.channel_totals, &row.kind, row.amount_fen);
        let Some(same) = self.ours.get_mut(row.number.as_str()) else {
            return Some(Discrepancy::MissingHere { channel: row });
        };
        let Some(at) = same
            .iter()
            .position(|o| o.receiver == row.receiver && o.kind() == row.kind)
        else {
            return Some(Discrepancy::MissingHere { channel: row });
        };
        let ours = same.swap_remove(at);
        if same.is_empty() {
            self.ours.remove(row.number.as_str());
        }
        if ours.status != OurStatus::Success || row.status != BillStatus::Success {
            Some(Discrepancy::StatusMismatch { ours, channel: row })
        } else if ours.amount_fen != row.amount_fen {
            Some(Discrepancy::AmountMismatch { ours, channel: row })
        } else {
            None
        }
    }

    /// Ours the bill never named: a failed one is consistent (failed splits are not in the
    /// bill), any other is missing at the channel. `found` are the discrepancies the rows
    /// showed; the statement lists them, then the missing ones by number and receiver.
    pub fn finish(self, mut found: Vec<Discrepancy>) -> Statement {
        let mut missing: Vec<OurRow> = self
            .ours
            .into_values()
            .flatten()
            .filter(|o| o.status != OurStatus::Failed)
            .collect();
        missing.sort_by(|a, b| (a.number(), &a.receiver).cmp(&(b.number(), &b.receiver)));
        found.extend(
            missing
                .into_iter()
                .map(|ours| Discrepancy::MissingAtChannel { ours }),
        );
        Statement {
            ours: self.ours_totals,
            channel: self.channel_totals,
            channel_other: self.channel_other,
            discrepancies: found,
        }
    }
}

/// Compares two sides held in memory (both sides streamed: see [`Reconciler`]).
pub fn compare(
    ours: impl IntoIterator<Item = OurRow>,
    bill: impl IntoIterator<Item = BillRow>,
) -> Result<Statement, DuplicateOurs> {
    let mut rec = Reconciler::new();
    rec.add_ours(ours)?;
    let found = bill
        .into_iter()
        .filter_map(|r| rec.channel_row(r))
        .collect();
    Ok(rec.finish(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(number: &str) -> OurRow {
        OurRow {
            allocation_no: number.into(),
            return_no: None,
            receiver: "r1".into(),
            amount_fen: 100,
            status: OurStatus::Success,
        }
    }

    fn bill(number: &str, kind: BillKind) -> BillRow {
        BillRow {
            kind,
            number: number.into(),
            receiver: "r1".into(),
            amount_fen: 100,
            status: BillStatus::Success,
            channel_no: String::new(),
            transaction_id: String::new(),
            payer: String::new(),
            time: 0,
        }
    }

    #[test]
    fn our_side_twice_is_refused() {
        let got = compare([ours("A1"), ours("A1")], []);
        assert_eq!(got.err().map(|e| e.number), Some("A1".to_owned()));
        let mut back = ours("A1");
        back.return_no = Some("A1".into());
        assert!(
            compare([ours("A1"), back], []).is_ok(),
            "a split and a return differ"
        );
    }

    #[test]
    fn a_row_the_bill_repeats_is_missing_here_the_second_time() {
        let rows = [bill("A1", BillKind::Split), bill("A1", BillKind::Split)];
        let s = compare([ours("A1")], rows);
        let kinds: Vec<_> = s
            .iter()
            .flat_map(|s| &s.discrepancies)
            .map(Discrepancy::kind)
            .collect();
        assert_eq!(kinds, [DiscrepancyKind::MissingHere]);
    }

    #[test]
    fn other_rows_are_counted_never_matched() {
        let rows = [
            bill("A1", BillKind::Other("解冻".into())),
            bill("A1", BillKind::Return),
        ];
        let s = compare([ours("A1")], rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.channel_other, 1);
        assert_eq!(s.channel.returns, 1);
        assert_eq!(
            s.count(DiscrepancyKind::MissingHere),
            1,
            "a return is not our split"
        );
        assert_eq!(s.count(DiscrepancyKind::MissingAtChannel), 1);
    }
}
