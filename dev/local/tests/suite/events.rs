//! The events built for the SQS worker and the schedule read back intact into the
//! `aws_lambda_events` types real functions deserialise them with.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName};
use local::schedule::scheduled_event;
use local::sqs::sqs_event;
use serde_json::{Value, json};

const ARN: &str = "arn:aws:sqs:us-east-1:000000000000:jobs";

fn attribute(data_type: &str) -> aws_sdk_sqs::types::builders::MessageAttributeValueBuilder {
    MessageAttributeValue::builder().data_type(data_type)
}

fn messages() -> Vec<Message> {
    let with_attributes = Message::builder()
        .message_id("id-1")
        .receipt_handle("handle-1")
        .body(r#"{"kind":"sync","allocationNo":"A1"}"#)
        .md5_of_body("md5-body-1")
        .md5_of_message_attributes("md5-attributes-1")
        .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
        .attributes(MessageSystemAttributeName::SentTimestamp, "1700000000000")
        .attributes(MessageSystemAttributeName::SenderId, "AIDAEXAMPLE")
        .attributes(
            MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
            "1700000000100",
        )
        .message_attributes(
            "kind",
            attribute("String")
                .string_value("sync")
                .build()
                .expect("attribute"),
        )
        .message_attributes(
            "attempt",
            attribute("Number")
                .string_value("3")
                .build()
                .expect("attribute"),
        )
        .message_attributes(
            "blob",
            attribute("Binary")
                .binary_value(Blob::new(vec![0u8, 1, 0xfe, 0xff]))
                .build()
                .expect("attribute"),
        )
        .build();
    let plain = Message::builder()
        .message_id("id-2")
        .receipt_handle("handle-2")
        .body("plain text\nwith a line break")
        .md5_of_body("md5-body-2")
        .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
        .build();
    vec![with_attributes, plain]
}

#[test]
fn sqs_event_reads_back_as_aws_lambda_events_sqs_event() {
    let event = sqs_event(&messages(), ARN, "us-east-1");
    let parsed: SqsEvent = serde_json::from_value(event.clone()).expect("an SqsEvent");
    assert_eq!(parsed.records.len(), 2);

    let first = &parsed.records[0];
    assert_eq!(first.message_id.as_deref(), Some("id-1"));
    assert_eq!(first.receipt_handle.as_deref(), Some("handle-1"));
    assert_eq!(
        first.body.as_deref(),
        Some(r#"{"kind":"sync","allocationNo":"A1"}"#)
    );
    assert_eq!(first.md5_of_body.as_deref(), Some("md5-body-1"));
    assert_eq!(
        first.md5_of_message_attributes.as_deref(),
        Some("md5-attributes-1")
    );
    assert_eq!(first.event_source.as_deref(), Some("aws:sqs"));
    assert_eq!(first.event_source_arn.as_deref(), Some(ARN));
    assert_eq!(first.aws_region.as_deref(), Some("us-east-1"));
    let attributes: Vec<(&str, &str)> = [
        ("ApproximateReceiveCount", "2"),
        ("SentTimestamp", "1700000000000"),
        ("SenderId", "AIDAEXAMPLE"),
        ("ApproximateFirstReceiveTimestamp", "1700000000100"),
    ]
    .into();
    assert_eq!(first.attributes.len(), attributes.len());
    for (name, value) in attributes {
        assert_eq!(first.attributes.get(name).map(String::as_str), Some(value));
    }
    let kind = &first.message_attributes["kind"];
    assert_eq!(kind.string_value.as_deref(), Some("sync"));
    assert_eq!(kind.data_type.as_deref(), Some("String"));
    assert!(kind.binary_value.is_none());
    assert!(kind.string_list_values.is_empty() && kind.binary_list_values.is_empty());
    let attempt = &first.message_attributes["attempt"];
    assert_eq!(attempt.string_value.as_deref(), Some("3"));
    assert_eq!(attempt.data_type.as_deref(), Some("Number"));
    let blob = &first.message_attributes["blob"];
    assert_eq!(blob.data_type.as_deref(), Some("Binary"));
    assert!(blob.string_value.is_none());
    assert_eq!(
        blob.binary_value.as_ref().map(|b| b.0.clone()),
        Some(vec![0u8, 1, 0xfe, 0xff])
    );

    let second = &parsed.records[1];
    assert_eq!(second.message_id.as_deref(), Some("id-2"));
    assert_eq!(
        second.body.as_deref(),
        Some("plain text\nwith a line break")
    );
    assert!(second.message_attributes.is_empty());
    assert_eq!(second.md5_of_message_attributes, None);
    assert_eq!(second.event_source_arn.as_deref(), Some(ARN));

    // The wire shape Lambda sends: exactly these keys, `messageAttributes` always an object.
    let keys = |record: &Value| {
        let mut keys: Vec<String> = record
            .as_object()
            .expect("record object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let common = [
        "attributes",
        "awsRegion",
        "body",
        "eventSource",
        "eventSourceARN",
        "md5OfBody",
        "messageAttributes",
        "messageId",
        "receiptHandle",
    ];
    let mut with_md5: Vec<&str> = common.to_vec();
    with_md5.push("md5OfMessageAttributes");
    with_md5.sort();
    assert_eq!(keys(&event["Records"][0]), with_md5);
    assert_eq!(keys(&event["Records"][1]), common);
    assert_eq!(event["Records"][1]["messageAttributes"], json!({}));
    assert_eq!(
        event["Records"][0]["messageAttributes"]["kind"],
        json!({"stringValue": "sync", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
    );
    assert_eq!(
        event["Records"][0]["messageAttributes"]["blob"]["binaryValue"],
        "AAH+/w=="
    );
}

#[test]
fn empty_batch_is_an_empty_records_list() {
    let parsed: SqsEvent =
        serde_json::from_value(sqs_event(&[], ARN, "us-east-1")).expect("an SqsEvent");
    assert!(parsed.records.is_empty());
}

#[test]
fn scheduled_event_reads_back_as_cloudwatch_and_eventbridge_events() {
    let now = time::macros::datetime!(2026-03-01 12:34:56.789 +08:00);
    let event = scheduled_event(now);
    let region = event["region"].as_str().expect("region").to_owned();
    assert!(!region.is_empty());
    let rule = format!("arn:aws:events:{region}:000000000000:rule/local-every-minute");
    assert_eq!(event["time"], "2026-03-01T04:34:56Z");

    let cloudwatch: CloudWatchEvent =
        serde_json::from_value(event.clone()).expect("CloudWatchEvent");
    assert_eq!(cloudwatch.version.as_deref(), Some("0"));
    assert_eq!(cloudwatch.detail_type.as_deref(), Some("Scheduled Event"));
    assert_eq!(cloudwatch.source.as_deref(), Some("aws.events"));
    assert_eq!(cloudwatch.account_id.as_deref(), Some("000000000000"));
    assert_eq!(cloudwatch.time.timestamp(), now.unix_timestamp());
    assert_eq!(cloudwatch.region.as_deref(), Some(region.as_str()));
    assert_eq!(cloudwatch.resources, std::slice::from_ref(&rule));
    assert_eq!(cloudwatch.detail, Some(json!({})));
    let id = cloudwatch.id.expect("id");
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");

    let eventbridge: EventBridgeEvent =
        serde_json::from_value(event.clone()).expect("EventBridgeEvent");
    assert_eq!(eventbridge.detail_type, "Scheduled Event");
    assert_eq!(eventbridge.source, "aws.events");
    assert_eq!(eventbridge.account.as_deref(), Some("000000000000"));
    assert_eq!(
        eventbridge.time.map(|t| t.timestamp()),
        Some(now.unix_timestamp())
    );
    assert_eq!(eventbridge.resources, Some(vec![rule]));
    assert_eq!(eventbridge.detail, json!({}));

    assert_ne!(scheduled_event(now)["id"], event["id"], "ids are random");
}
