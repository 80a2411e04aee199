//! One app's backlog never starves another's (SPEC §8.1): with app A holding 10,000 due syncs,
//! all due before app B's one, a scheduler run that reads what is due queues B's sync among
//! the first it dispatches, in the same run.

use crate::common::{app, sdk, unique};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::Value;
use shared::service::due::{Budget, tick_with};
use std::collections::HashMap;

fn due_item(pk: String, due_at: i64) -> WriteRequest {
    let item = HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S("ORDER".into())),
        ("duePk".to_owned(), AttributeValue::S("DUE#sync".into())),
        ("dueAt".to_owned(), AttributeValue::N(due_at.to_string())),
    ]);
    let put = PutRequest::builder().set_item(Some(item)).build();
    WriteRequest::builder()
        .put_request(put.unwrap_or_else(|e| panic!("{e}")))
        .build()
}

#[tokio::test]
async fn an_apps_backlog_does_not_delay_another_apps_due_work() {
    let mut app = app().await;
    let now = crate::common::now();
    let sdk = sdk().await;
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let mut writes: Vec<WriteRequest> = (0..10_000)
        .map(|i| due_item(format!("APP#shop-a#ALLOC#A{i:05}"), now - 20_000 + i))
        .collect();
    writes.push(due_item("APP#shop-b#ALLOC#B1".into(), now - 1));
    for chunk in writes.chunks(25) {
        db.batch_write_item()
            .request_items(app.store.table(), chunk.to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name(unique("fair"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let url = queue.queue_url().unwrap_or_default().to_owned();
    app.queue = Some(shared::infra::Queue::new(sqs.clone(), &url));
    // one run: everything due is read, the first 20 are dispatched
    let budget = Budget {
        read: 20_000,
        dispatch: 20,
    };
    let tick = tick_with(&app, now, budget, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((tick.found, tick.queued), (10_001, 20));
    let mut apps = Vec::new();
    while apps.len() < 20 {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let got = out.messages.unwrap_or_default();
        if got.is_empty() {
            break;
        }
        for m in got {
            let body: Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
            apps.push((
                body["app"].as_str().unwrap_or("").to_owned(),
                body["allocationNo"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    assert!(
        apps.contains(&("shop-b".to_owned(), "B1".to_owned())),
        "B's sync is queued in the same run: {apps:?}"
    );
    assert_eq!(apps.iter().filter(|(a, _)| a == "shop-a").count(), 19);
    // A's oldest first
    assert!(
        apps.contains(&("shop-a".to_owned(), "A00000".to_owned())),
        "{apps:?}"
    );
}
