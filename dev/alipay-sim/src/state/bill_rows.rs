//! What the trade bills (`crate::bills`) are made of, read from the state: the settle details a
//! merchant made that succeeded (pending and failed ones are left out), and the refunds of its
//! trades, each with its Beijing time.

use super::State;
use crate::bills::{Fact, Moved};

impl State {
    /// The merchant's successful royalty transfers and refunds, unsorted.
    pub(crate) fn bill_facts(&self, merchant: &str) -> Vec<Fact> {
        let trade_of = |trade_no: &str| {
            let trade = self.trades.get(trade_no);
            let out_trade_no = trade.map(|t| t.out_trade_no.clone()).unwrap_or_default();
            (out_trade_no, trade.map_or(0, |t| t.paid_fen))
        };
        let settled = self.settles.values().filter(|s| s.owner == merchant);
        let royalties = settled.flat_map(|s| {
            let (out_trade_no, paid_fen) = trade_of(&s.trade_no);
            let done = s.details.iter().filter(|d| d.state == "SUCCESS");
            done.map(move |d| Fact {
                trade_no: s.trade_no.clone(),
                out_trade_no: out_trade_no.clone(),
                paid_fen,
                at: d.execute_dt.clone().unwrap_or_default(),
                moved: Moved::Royalty { fen: d.fen },
            })
        });
        let owned = self.trades.iter().filter(|(_, t)| t.owner == merchant);
        let refunds = owned.flat_map(|(trade_no, t)| {
            t.refunds.iter().map(move |(out_request_no, r)| Fact {
                trade_no: trade_no.clone(),
                out_trade_no: t.out_trade_no.clone(),
                paid_fen: t.paid_fen,
                at: r.answer["gmt_refund_pay"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                moved: Moved::Refund {
                    out_request_no: out_request_no.clone(),
                    refund_fen: r.result.send_back_fee_fen,
                    royalty_fen: r.royalty_fen,
                },
            })
        });
        royalties.chain(refunds).collect()
    }
}
