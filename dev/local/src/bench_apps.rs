//! `local bench-apps`: does the number of apps in the table change what a start costs (SPEC §8,
//! issue 21)? Two fresh tables at `$AWS_ENDPOINT_URL`: one holding a single app, the other that
//! app and N-1 more (registry items as the admin routes write them, their merchants too). The
//! same app, warm (its settings and secrets cached, as in a warm Lambda), starts orders on both,
//! alternately, and the median time of a start on each is printed with their ratio.
//!
//! The starts name a group whose only member has a rate of 0: the order is `ignore` and no
//! channel is called, so what is timed is the service's own path (verification aside): the
//! start's reads and its create transaction on the emulator.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{Map, Value, json};
use shared::app::{App, Stack};
use shared::daxpay::params::StartParams;
use shared::domain::{
    Channel, Group, GroupMember, PayOrder, PayStatus, Receiver, ReceiverType, RelationType,
    Spelling, Tenant,
};
use shared::infra::keyring::Keyring;
use shared::service::admin::{self, Caller, NewApp};

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A table with the app `bench` (and an Alipay account it never calls), and `others` more apps
/// under their merchants.
async fn table(
    sdk: &aws_config::SdkConfig,
    kms: &aws_sdk_kms::Client,
    key: &str,
    name: &str,
    others: usize,
) -> Result<App, String> {
    let db = aws_sdk_dynamodb::Client::new(sdk);
    shared::store::schema::create_table(&db, name)
        .await
        .map_err(text)?;
    let rows: Vec<WriteRequest> = (0..others)
        .flat_map(|i| {
            let (app, mch) = (format!("app{i:05}"), format!("M{i:05}"));
            let s = |v: &str| AttributeValue::S(v.to_owned());
            let blob = AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![7u8; 180]));
            let app_item: HashMap<String, AttributeValue> = [
                ("pk", s(&format!("TENANT#APP#{app}"))),
                ("sk", s("APP")),
                ("type", s("app")),
                ("appId", s(&app)),
                ("mchNo", s(&mch)),
                ("status", s("enabled")),
                ("mchStatus", s("enabled")),
                ("code", s(&format!("{i:06}"))),
                ("settings", s("{}")),
                ("secretKey", blob.clone()),
                (
                    "secretNonce",
                    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![1u8; 12])),
                ),
                ("secretData", blob),
                ("ver", AttributeValue::N("1".into())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let merchant: HashMap<String, AttributeValue> = [
                ("pk", s(&format!("TENANT#MCH#{mch}"))),
                ("sk", s("MCH")),
                ("type", s("merchant")),
                ("mchNo", s(&mch)),
                ("status", s("enabled")),
                ("gsi1pk", s("TENANT#MCHS")),
                ("gsi1sk", s(&mch)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            [app_item, merchant]
        })
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|p| WriteRequest::builder().put_request(p).build())
                .map_err(text)
        })
        .collect::<Result<_, _>>()?;
    for chunk in rows.chunks(25) {
        db.batch_write_item()
            .request_items(name, chunk.to_vec())
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    }
    let default = App {
        tenant: Tenant::default_app(),
        verifier: shared::daxpay::request::Verifier::new(
            shared::daxpay::sign::Signer::new(
                shared::daxpay::sign::SignType::HmacSha256,
                shared::daxpay::sign::Secret::new("bench"),
            ),
            true,
            300,
        ),
        store: shared::store::Store::new(db, name),
        clock: shared::infra::Clock::System,
        channels: Arc::default(),
        allocation_no_prefix: String::new(),
        queue: None,
        archive: None,
        jobs: shared::infra::config::JobSettings::default(),
    };
    let stack = Stack::with_tenants(
        default,
        Keyring::new(kms.clone(), key),
        Arc::new(HashMap::new()),
        Duration::from_secs(300),
    );
    let caller = Caller {
        principal: "arn:aws:iam::000000000000:user/bench".into(),
        now: shared::app::now_secs(),
    };
    admin::create_merchant(&stack, &caller, "MBENCH", Some("bench"))
        .await
        .map_err(text)?;
    let new = NewApp {
        mch_no: "MBENCH",
        app_id: Some("bench"),
        ..NewApp::default()
    };
    admin::create_app(&stack, &caller, &new)
        .await
        .map_err(text)?;
    let (private, public) = shared::infra::crypto::generate_rsa_keypair().map_err(text)?;
    let account: Map<String, Value> = match json!({"mode": "direct", "appId": "2021000000000099",
        "privateKey": private, "publicKey": public, "gatewayUrl": "http://127.0.0.1:9/gateway.do"})
    {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    admin::set_channel(&stack, &caller, "bench", "ali_pay", Some(&account))
        .await
        .map_err(text)?;
    let app = stack.app(Some("bench")).await.map_err(text)?;
    let receiver = Receiver {
        receiver_no: "r0".into(),
        channel: Channel::AliPay,
        receiver_type: ReceiverType::AliUserId,
        receiver_account: "2088000000000011".into(),
        receiver_name: None,
        relation_type: RelationType::Partner,
        relation_name: None,
        group_count: 0,
        state: shared::domain::BindState::Bound,
    };
    app.store.add_receiver(&receiver).await.map_err(text)?;
    let group = Group {
        group_no: "G0".into(),
        name: "rate 0".into(),
        channel: Channel::AliPay,
        remark: None,
        members: vec![GroupMember {
            receiver_no: "r0".into(),
            rate: 0,
            receiver_type: ReceiverType::AliUserId,
            receiver_account: "2088000000000011".into(),
            receiver_name: None,
        }],
    };
    app.store.create_group(&group).await.map_err(text)?;
    Ok(app)
}

/// One start of a fresh paid order of `app`; its time.
async fn one_start(app: &App, n: usize) -> Result<Duration, String> {
    let order_no = format!("P{n:06}");
    let pay = PayOrder {
        order_no: order_no.clone(),
        biz_order_no: format!("B{order_no}"),
        out_order_no: Some(format!("T{order_no}")),
        title: "bench".into(),
        channel: Channel::AliPay,
        method: None,
        amount: 10_000,
        status: PayStatus::Success,
        allocation: true,
        auto_allocation: false,
        refund_status: None,
        attach: None,
        pay_time: Some(shared::app::now_secs()),
        allocation_no: None,
        auto_allocation_error: None,
        refunded: 0,
        account: None,
    };
    shared::service::pay_orders::apply_notice(app, &pay)
        .await
        .map_err(text)?;
    let params = StartParams {
        biz_allocation_no: format!("A{order_no}"),
        order_no: Some(order_no),
        biz_order_no: None,
        description: None,
        group_no: Some("G0".into()),
        receivers: None,
        notify_url: None,
        attach: None,
        not_notify: None,
        title: None,
    };
    let started = Instant::now();
    let order = shared::service::start::run(app, &params, Spelling::V207, None)
        .await
        .map_err(text)?
        .map_err(text)?;
    let took = started.elapsed();
    if order.status != shared::domain::AllocationStatus::Ignore {
        return Err(format!("unexpected status {}", order.status));
    }
    Ok(took)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Prints the median start with one app and with `apps` apps in the table, and their ratio.
pub async fn apps(apps: usize, starts: usize) -> Result<String, String> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms
        .create_key()
        .send()
        .await
        .map_err(|e| aws_sdk_kms::error::DisplayErrorContext(e).to_string())?
        .key_metadata
        .map(|m| m.key_id)
        .ok_or("no key")?;
    let id = std::process::id();
    let written = Instant::now();
    let one = table(&sdk, &kms, &key, &format!("bench-apps1-{id}"), 0).await?;
    let many = table(
        &sdk,
        &kms,
        &key,
        &format!("bench-apps{apps}-{id}"),
        apps.saturating_sub(1),
    )
    .await?;
    let setup = written.elapsed();
    // warm both (first reads of the tables), then alternate
    one_start(&one, 0).await?;
    one_start(&many, 0).await?;
    let (mut t1, mut tn) = (Vec::new(), Vec::new());
    for n in 1..=starts {
        if n % 2 == 0 {
            t1.push(one_start(&one, n).await?);
            tn.push(one_start(&many, n).await?);
        } else {
            tn.push(one_start(&many, n).await?);
            t1.push(one_start(&one, n).await?);
        }
    }
    let (m1, mn) = (median(t1), median(tn));
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    for table in [one.store.table(), many.store.table()] {
        let _ = db.delete_table().table_name(table).send().await;
    }
    Ok(format!(
        "start p50 with 1 app in the table: {:.2} ms; with {apps} apps: {:.2} ms; ratio {:.2} \
         ({starts} starts each, interleaved; the {apps}-app table written in {:.0} s)",
        m1.as_secs_f64() * 1e3,
        mn.as_secs_f64() * 1e3,
        mn.as_secs_f64() / m1.as_secs_f64().max(1e-9),
        setup.as_secs_f64(),
    ))
}
