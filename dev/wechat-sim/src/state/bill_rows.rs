//! What the profit-sharing bills (`crate::bills`) are made of, read from the state: every split
//! receiver line that succeeded and every return that succeeded, of every merchant. Unfreezes
//! release funds to the merchant itself and are not splits: they are left out, as are
//! receivers still pending or closed and returns processing or failed ("failed splits are not
//! in the bill").

use super::{State, key};
use crate::bills::{BillKind, Entry};

impl State {
    /// The successful split lines and returns, unsorted.
    pub(crate) fn bill_entries(&self) -> Vec<Entry> {
        let paid = |id: &str| self.transactions.get(id).map_or(0, |t| t.amount);
        let splits = self.orders.values().filter(|o| !o.unfreeze).flat_map(|o| {
            let done = o.receivers.iter().filter(|r| r.result == "SUCCESS");
            done.map(move |r| Entry {
                time: r.finish_time.clone(),
                payer: o.mchid.clone(),
                provider: o.provider.clone(),
                transaction_id: o.transaction_id.clone(),
                channel_no: o.order_id.clone(),
                detail_id: r.detail_id.clone(),
                number: o.out_order_no.clone(),
                order_fen: paid(&o.transaction_id),
                receiver: r.account.clone(),
                amount_fen: r.amount,
                business: BillKind::Split,
                remark: r.description.clone(),
            })
        });
        let returns = self.returns.iter().filter_map(|((mchid, _), r)| {
            let order = self.orders.get(&key(mchid, &r.out_order_no))?;
            let line = order
                .receivers
                .iter()
                .find(|d| d.account == r.return_mchid)?;
            (r.result == "SUCCESS").then(|| Entry {
                time: r.finish_time.clone().unwrap_or_default(),
                payer: mchid.clone(),
                provider: order.provider.clone(),
                transaction_id: order.transaction_id.clone(),
                channel_no: r.return_id.clone(),
                // The split line the money came back from.
                detail_id: line.detail_id.clone(),
                number: r.out_return_no.clone(),
                order_fen: paid(&order.transaction_id),
                receiver: r.return_mchid.clone(),
                amount_fen: r.amount,
                business: BillKind::Return,
                remark: r.description.clone(),
            })
        });
        splits.chain(returns).collect()
    }
}
