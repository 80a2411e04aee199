//! Orders stored before their details moved into the order item (one `DETAIL#` item per
//! receiver) still read whole, and the next save of such an order stores it in the new layout
//! without losing a detail.

use super::common::{fresh_store, sdk};
use aws_sdk_dynamodb::types::AttributeValue;
use shared::domain::{DetailResult, ReceiverType};
use std::collections::HashMap;

fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[tokio::test]
async fn an_order_stored_with_detail_items_reads_whole_and_saves_in_the_new_layout() {
    let store = fresh_store().await;
    let db = aws_sdk_dynamodb::Client::new(&sdk().await);
    let pk = s("ALLOC#A1");
    let order = item(&[
        ("pk", pk.clone()),
        ("sk", s("ORDER")),
        ("type", s("allocation_order")),
        ("allocationNo", s("A1")),
        ("bizAllocationNo", s("B1")),
        ("orderNo", s("P1")),
        ("bizOrderNo", s("BP1")),
        ("outOrderNo", s("T1")),
        ("title", s("t")),
        ("channel", s("wechat_pay")),
        ("status", s("allocation_processing")),
        ("result", s("all_pending")),
        ("digest", s("d")),
        ("amount", n(7500)),
        ("createdAt", n(1_764_000_000)),
        ("syncAttempts", n(0)),
        ("ver", n(1)),
    ]);
    let detail = |no: &str, amount: i64, account: &str| {
        item(&[
            ("pk", pk.clone()),
            ("sk", s(&format!("DETAIL#{no}"))),
            ("receiverNo", s(no)),
            ("amount", n(amount)),
            ("rate", n(0)),
            ("receiverType", s("wx_personal")),
            ("receiverAccount", s(account)),
            ("result", s("pending")),
        ])
    };
    for it in [order, detail("r1", 6000, "o1"), detail("r2", 1500, "o2")] {
        db.put_item()
            .table_name(store.table())
            .set_item(Some(it))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let read = store
        .allocation("A1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(mut stored) = read else {
        panic!("order not found")
    };
    let nos: Vec<(&str, i64)> = stored
        .allocation
        .details
        .iter()
        .map(|d| (d.receiver_no.as_str(), d.amount))
        .collect();
    assert_eq!(nos, [("r1", 6000), ("r2", 1500)]);
    assert_eq!(
        stored.allocation.details[0].receiver_type,
        ReceiverType::WxPersonal
    );

    stored.allocation.details[1].result = DetailResult::Success;
    let saved = store
        .save_allocation(
            &stored.allocation,
            stored.version,
            false,
            None,
            1_764_000_100,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(saved);
    let again = store
        .allocation("A1")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("order lost"));
    assert_eq!(again.allocation.details, stored.allocation.details);
    assert_eq!(again.version, 2);
    // the save over a version no longer current is refused
    let stale = store
        .save_allocation(&stored.allocation, 1, false, None, 1_764_000_200)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!stale);
}
