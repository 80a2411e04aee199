//! The client against a local server answering canned answers: what is retried (only
//! idempotent calls, only after an unknown outcome, bounded), what is refused (a bad
//! signature), and that every endpoint's answer reads into its type.

use alloc_client::endpoint::{self, Endpoint};
use alloc_client::*;
use alloc_testkit::{Mock, Reply, signer};
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "test-secret";

fn client(url: &str, attempts: u32) -> Client {
    Client::builder(url, signer(SECRET))
        .timeout(Duration::from_millis(800))
        .retry(RetryPolicy {
            max_attempts: attempts,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        })
        .build()
        .expect("client")
}

fn ok(data: Value) -> Reply {
    Reply::Signed(signer(SECRET), data)
}

/// The first `failures` requests to each path get `failure`, the next a signed answer.
fn failing_then_ok(failures: usize, failure: Reply) -> Mock {
    Mock::start(move |_, before| {
        if before < failures {
            failure.clone()
        } else {
            ok(json!({}))
        }
    })
}

async fn call(c: &Client, e: &Endpoint) -> Result<Answer<()>, Error> {
    c.call_raw(e, &json!({"allocationNo": "A1"})).await
}

#[tokio::test]
async fn after_a_5xx_only_idempotent_calls_are_sent_again() {
    let mock = failing_then_ok(2, Reply::Raw(503, "Service Unavailable".into()));
    let c = client(mock.url(), 3);
    for e in endpoint::ALL {
        let got = call(&c, &e).await;
        if e.idempotent {
            assert_eq!(got.map(|a| a.attempts), Ok(3), "{}", e.name);
            assert_eq!(mock.count(e.path), 3, "{}", e.name);
        } else {
            assert_eq!(got, Err(Error::Http { status: 503 }), "{}", e.name);
            assert_eq!(mock.count(e.path), 1, "{} must be sent once", e.name);
        }
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    let mock = Mock::start(|_, _| Reply::Raw(502, "Bad Gateway".into()));
    let c = client(mock.url(), 4);
    let got = c.query_order(&OrderRef::allocation_no("A1")).await;
    assert_eq!(got, Err(Error::Http { status: 502 }));
    assert_eq!(mock.count(endpoint::QUERY_ORDER.path), 4);
    let once = client(mock.url(), 0);
    let _ = once.query_order(&OrderRef::allocation_no("A1")).await;
    assert_eq!(
        mock.count(endpoint::QUERY_ORDER.path),
        5,
        "0 attempts means one"
    );
}

#[tokio::test]
async fn a_timeout_is_retried_for_a_start_and_never_for_a_finish() {
    let slow = Reply::Slow(
        Duration::from_secs(3),
        Box::new(Reply::Raw(200, "{}".into())),
    );
    let mock = Mock::start(move |hit, before| {
        if before == 0 {
            slow.clone()
        } else if hit.path == endpoint::START.path {
            ok(
                json!({"allocationNo": "DEVA1", "bizAllocationNo": "B1", "status": "allocation_processing"}),
            )
        } else {
            ok(json!({}))
        }
    });
    let c = client(mock.url(), 2);
    let start = StartRequest {
        biz_allocation_no: "B1".into(),
        order_no: Some("P1".into()),
        ..StartRequest::default()
    };
    let started = c
        .start(&start)
        .await
        .expect("start answered on its second attempt");
    assert_eq!(started.attempts, 2);
    assert_eq!(started.data.allocation_no, "DEVA1");
    let finish = c.finish(&OrderRef::allocation_no("DEVA1")).await;
    assert!(
        matches!(finish, Err(Error::Transport(TransportError::TimedOut(_)))),
        "{finish:?}"
    );
    assert_eq!(mock.count(endpoint::FINISH.path), 1);
    // the repeated start is the same business request, signed anew
    let starts: Vec<_> = mock
        .hits()
        .into_iter()
        .filter(|h| h.path == endpoint::START.path)
        .collect();
    assert_eq!(starts.len(), 2);
    assert_ne!(starts[0].body["nonceStr"], starts[1].body["nonceStr"]);
    for h in &starts {
        assert!(h.verifies(&signer(SECRET)));
        assert_eq!(h.body["bizAllocationNo"], "B1");
    }
}

#[tokio::test]
async fn a_dropped_connection_and_a_system_error_are_retried_only_when_idempotent() {
    for failure in [Reply::Drop, Reply::Envelope(10001, "系统错误".into())] {
        let mock = failing_then_ok(1, failure.clone());
        let c = client(mock.url(), 3);
        let synced = c.sync(&OrderRef::allocation_no("A1")).await;
        assert_eq!(synced.map(|a| a.attempts), Ok(2), "{failure:?}");
        let resent = c
            .resend_notice(&ResendRequest {
                order: OrderRef::allocation_no("A1"),
                status: None,
            })
            .await;
        assert!(
            resent.as_ref().is_err_and(Error::is_retryable),
            "{resent:?}"
        );
        assert_eq!(mock.count(endpoint::RESEND_NOTICE.path), 1);
    }
}

#[tokio::test]
async fn refusals_and_rejections_are_final() {
    let mock = Mock::start(|hit, _| {
        if hit.path == endpoint::QUERY_ORDER.path {
            Reply::Refused(signer(SECRET), "分账单不存在".into())
        } else {
            Reply::Envelope(10006, "验证参数错误: orderNo: is required".into())
        }
    });
    let c = client(mock.url(), 3);
    let refused = c.query_order(&OrderRef::allocation_no("A1")).await;
    assert_eq!(
        refused,
        Err(Error::Refused {
            msg: "分账单不存在".into(),
            trace_id: "mock-trace".into()
        })
    );
    let rejected = c.allocatable(&PayOrderRef::default()).await;
    assert!(matches!(rejected, Err(Error::Rejected { code: 10006, .. })));
    assert_eq!(mock.count(endpoint::QUERY_ORDER.path), 1);
    assert_eq!(mock.count(endpoint::ALLOCATABLE.path), 1);
}

#[tokio::test]
async fn an_answer_signed_with_another_secret_is_refused_and_not_retried() {
    let mock = Mock::start(|_, _| {
        Reply::Signed(
            signer("not-the-secret"),
            json!({"allocationNo": "A1", "bizAllocationNo": "B1", "status": "finish"}),
        )
    });
    let c = client(mock.url(), 3);
    let got = c.query_order(&OrderRef::allocation_no("A1")).await;
    assert_eq!(
        got,
        Err(Error::BadSignature {
            trace_id: "mock-trace".into()
        })
    );
    assert_eq!(mock.count(endpoint::QUERY_ORDER.path), 1);
    // an unsigned accepted answer is no better
    let unsigned = Mock::start(|_, _| {
        Reply::Raw(
            200,
            r#"{"code":0,"msg":"success","data":{"code":0,"resTime":1},"traceId":"t"}"#.into(),
        )
    });
    let c = client(unsigned.url(), 3);
    let got = c.sync(&OrderRef::allocation_no("A1")).await;
    assert!(matches!(got, Err(Error::BadSignature { .. })), "{got:?}");
}

#[tokio::test]
async fn nothing_listening_is_a_connect_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let c = client(&format!("http://127.0.0.1:{port}"), 2);
    let got = c.query_groups(&GroupQuery::default()).await;
    assert!(
        matches!(got, Err(Error::Transport(TransportError::Connect(_)))),
        "{got:?}"
    );
}

/// A realistic `data` of each endpoint (2.0.8 names where the service respells).
fn canned(path: &str) -> Value {
    let detail = json!({"receiverNo": "S1", "amount": 6000, "rate": 6000, "receiverType": "ali_user_id",
        "receiverAccount": "2088****0011", "receiverName": "门店", "result": "success",
        "finishTime": "2026-12-01 10:00:00"});
    let ret = json!({"returnNo": "DEVR1", "bizReturnNo": "R1", "allocNo": "DEVA1", "bizAllocNo": "B1",
        "orderNo": "P1", "channel": "ali_pay", "receiverNo": "S1", "receiverType": "ali_user_id",
        "receiverAccount": "2088****0011", "amount": 2500, "status": "return_planned",
        "refundRoyaltyParameters": [{"trans_out": "2088****0011", "amount": "25.00"}]});
    match path {
        "/unipay/allocation/start" | "/unipay/allocation/finish" => {
            json!({"allocNo": "DEVA1", "bizAllocNo": "B1", "status": "allocation_processing"})
        }
        "/unipay/query/allocationOrder" => json!({"allocNo": "DEVA1", "bizAllocNo": "B1",
            "orderNo": "P1", "bizOrderNo": "SDK_1", "outOrderNo": "2026", "title": "t",
            "channel": "ali_pay", "amount": 10000, "status": "finish", "result": "all_success",
            "finishTime": "2026-12-01 10:00:05", "details": [detail]}),
        "/unipay/query/allocationNotice" => json!({"allocNo": "DEVA1", "bizAllocNo": "B1",
            "status": "finish", "flagged": false, "notices": [{"status": "finish",
            "url": "http://127.0.0.1/notify", "delivered": true, "attempts": [{"number": 1,
            "at": 1, "delivered": true, "httpStatus": 200}]}]}),
        "/unipay/allocation/notice/resend" => {
            json!({"allocNo": "DEVA1", "bizAllocNo": "B1", "status": "finish", "nextAt": 5})
        }
        "/unipay/query/payOrder" => json!({"orderNo": "P1", "bizOrderNo": "SDK_1",
            "title": "t", "channel": "wechat_pay", "amount": 10000, "status": "success",
            "allocation": true, "autoAllocation": false, "allocNo": "DEVA1", "refunded": 3000}),
        "/unipay/query/flaggedAllocations" | "/unipay/query/allocationOrders" => {
            json!({"orders": [{"allocNo": "DEVA1",
            "bizAllocNo": "B1", "orderNo": "P1", "channel": "ali_pay", "amount": 10000,
            "status": "allocation_processing", "result": "all_pending", "createdAt": 1,
            "syncAttempts": 9}], "nextCursor": "1.DEVA1"})
        }
        "/unipay/query/reconcileStatement" => json!({"statements": [{"channel": "wechat_pay",
            "day": "2026-12-01", "account": "1900000109", "status": "discrepancies",
            "oursSplits": 1, "oursSplitAmount": 3000, "oursReturns": 0, "oursReturnAmount": 0,
            "channelSplits": 2, "channelSplitAmount": 3100, "channelReturns": 0,
            "channelReturnAmount": 0, "channelOtherRows": 0, "discrepancies": 1,
            "unresolved": 1, "reconciledAt": 1796170000}]}),
        "/unipay/query/reconcileDiscrepancies" => json!({"discrepancies": [{"kind": "missing_here",
            "number": "X901", "what": "split", "receiverAccount": "19****91",
            "channelAmount": 100, "channelStatus": "success", "resolved": false,
            "evidence": "the channel's per-order query: no such order"}], "total": 1}),
        "/unipay/sync/allocations" => json!({"orders": [{"allocNo": "DEVA1", "outcome": "queued"},
            {"allocNo": "DEVA2", "outcome": "not_processing", "status": "finish"}]}),
        "/unipay/allocation/return" => ret,
        "/unipay/query/allocationReturn" => json!({"allocNo": "DEVA1", "bizAllocNo": "B1",
            "receivers": [{"receiverNo": "S1", "amount": 6000, "returned": 2500, "returnCount": 1}],
            "returns": [ret]}),
        "/unipay/query/allocatable" => json!({"orderNo": "P1", "bizOrderNo": "SDK_1",
            "channel": "ali_pay", "amount": 10000, "refunded": 0, "allocated": 0,
            "allocatable": 10000, "channelError": "订单处理中", "freezeDeadline": 9}),
        "/unipay/query/allocationReceiver" => json!({"receivers": [{"receiverNo": "S1",
            "channel": "ali_pay", "receiverType": "ali_user_id", "receiverAccount": "2088****0011",
            "relationType": "STORE"}]}),
        "/unipay/allocation/group/create" | "/unipay/allocation/group/delete" => {
            json!({"groupNo": "G1"})
        }
        "/unipay/allocation/group/update"
        | "/unipay/allocation/group/bind"
        | "/unipay/allocation/group/unbind" => json!({"groupNo": "G1", "totalRate": 7500}),
        "/unipay/allocation/group/setDefault" | "/unipay/allocation/group/clearDefault" => {
            json!({"groupNo": "G1", "channel": "ali_pay"})
        }
        "/unipay/allocation/group/query" => json!({"groups": [{"groupNo": "G1", "name": "n",
            "channel": "ali_pay", "defaultGroup": true, "totalRate": 7500, "receivers": [
            {"receiverNo": "S1", "rate": 7500, "receiverType": "ali_user_id",
             "receiverAccount": "2088****0011"}]}]}),
        _ => json!({}),
    }
}

#[tokio::test]
async fn every_endpoint_sends_its_request_and_reads_its_answer() {
    let mock = Mock::start(|hit, _| ok(canned(&hit.path)));
    let c = Client::builder(mock.url(), signer(SECRET))
        .spelling(Spelling::V208)
        .build()
        .expect("client");
    let order = OrderRef::allocation_no("DEVA1");
    let pay = PayOrderRef::order_no("P1");
    let group = GroupRef {
        group_no: "G1".into(),
    };
    let saved = GroupSaveRequest {
        group_no: "G1".into(),
        name: "n".into(),
        channel: Channel::AliPay,
        remark: None,
    };
    let start = StartRequest {
        biz_allocation_no: "B1".into(),
        order_no: Some("P1".into()),
        receivers: Some(vec![ReceiverAmount {
            receiver_no: "S1".into(),
            amount: 6000,
        }]),
        ..StartRequest::default()
    };
    let started = c.start(&start).await.expect("start");
    assert_eq!(started.data.status, AllocationStatus::Processing);
    assert_eq!(
        started.raw["allocNo"], "DEVA1",
        "raw is the data as received"
    );
    assert_eq!(
        c.finish(&order).await.expect("finish").data.allocation_no,
        "DEVA1"
    );
    c.sync(&order).await.expect("sync");
    let many = c
        .sync_many(&SyncManyRequest {
            allocation_nos: vec!["DEVA1".into(), "DEVA2".into()],
        })
        .await
        .expect("sync many");
    assert_eq!(many.data.orders[1].outcome, SyncOutcome::NotProcessing);
    assert_eq!(many.data.orders[1].status, Some(AllocationStatus::Finish));
    let q = c.query_order(&order).await.expect("query");
    assert_eq!(q.data.details[0].amount, 6000);
    assert_eq!(q.data.details[0].result, DetailResult::Success);
    let n = c.query_notices(&order).await.expect("notices");
    assert_eq!(n.data.notices[0].attempts[0].http_status, Some(200));
    let resend = ResendRequest {
        order: order.clone(),
        status: Some(AllocationStatus::Finish),
    };
    assert_eq!(
        c.resend_notice(&resend).await.expect("resend").data.next_at,
        5
    );
    let p = c.query_pay_order(&pay).await.expect("pay order");
    assert_eq!(
        (p.data.allocation_no.as_deref(), p.data.refunded),
        (Some("DEVA1"), 3000)
    );
    let f = c
        .flagged(&FlaggedRequest {
            page_size: Some(5),
            cursor: None,
        })
        .await
        .expect("flagged");
    assert_eq!(f.data.next_cursor.as_deref(), Some("1.DEVA1"));
    let day = OrderListRequest {
        status: AllocationStatus::Processing,
        day: "2026-12-01".into(),
        page_size: None,
        cursor: Some("1.DEVA1".into()),
    };
    let listed = c.list_orders(&day).await.expect("list orders");
    assert_eq!(listed.data.orders[0].sync_attempts, 9);
    let statements = c
        .statements(&StatementRequest::day(Channel::WechatPay, "2026-12-01"))
        .await
        .expect("statements");
    assert_eq!(
        statements.data.statements[0].status,
        StatementStatus::Discrepancies
    );
    let page = c
        .discrepancies(&DiscrepancyRequest {
            channel: Channel::WechatPay,
            day: "2026-12-01".into(),
            page_size: Some(1),
            cursor: None,
        })
        .await
        .expect("discrepancies");
    assert_eq!((page.data.total, page.data.next_cursor.clone()), (1, None));
    let ret = ReturnRequest {
        biz_return_no: "R1".into(),
        order: order.clone(),
        receiver_no: "S1".into(),
        amount: 2500,
        ..ReturnRequest::default()
    };
    let r = c.create_return(&ret).await.expect("return");
    assert_eq!(r.data.status, ReturnStatus::Planned);
    assert!(r.data.refund_royalty_parameters.is_some());
    let by_order = ReturnQuery {
        order: order.clone(),
        ..ReturnQuery::default()
    };
    match c.query_return(&by_order).await.expect("returns").data {
        ReturnAnswer::Order(all) => assert_eq!(all.receivers[0].returned, 2500),
        other => panic!("expected an order's returns: {other:?}"),
    }
    let a = c.allocatable(&pay).await.expect("allocatable");
    assert_eq!(
        (a.data.allocatable, a.data.channel_allocatable),
        (10000, None)
    );
    let add = ReceiverAddRequest {
        receiver_no: "S1".into(),
        channel: Channel::AliPay,
        receiver_type: ReceiverType::AliUserId,
        receiver_account: "2088000000000011".into(),
        receiver_name: None,
        relation_type: RelationType::Store,
        relation_name: None,
    };
    c.add_receiver(&add).await.expect("add receiver");
    let rr = ReceiverRef {
        receiver_no: "S1".into(),
    };
    c.remove_receiver(&rr).await.expect("remove receiver");
    let list = c
        .query_receivers(&ReceiverQuery {
            channel: Some(Channel::AliPay),
            receiver_no: None,
        })
        .await
        .expect("receivers");
    assert_eq!(list.data.receivers[0].relation_type, RelationType::Store);
    assert_eq!(
        c.create_group(&saved).await.expect("create").data.group_no,
        "G1"
    );
    assert_eq!(
        c.update_group(&saved)
            .await
            .expect("update")
            .data
            .total_rate,
        7500
    );
    let bind = GroupBindRequest {
        group_no: "G1".into(),
        receivers: vec![ReceiverRate {
            receiver_no: "S1".into(),
            rate: 7500,
        }],
    };
    c.bind_receivers(&bind).await.expect("bind");
    let unbind = GroupUnbindRequest {
        group_no: "G1".into(),
        receiver_nos: vec!["S1".into()],
    };
    c.unbind_receivers(&unbind).await.expect("unbind");
    assert_eq!(
        c.set_default_group(&group)
            .await
            .expect("set default")
            .data
            .channel,
        Channel::AliPay
    );
    c.clear_default_group(&group).await.expect("clear default");
    c.delete_group(&group).await.expect("delete");
    let groups = c
        .query_groups(&GroupQuery {
            group_no: Some("G1".into()),
            channel: None,
        })
        .await
        .expect("groups");
    assert!(groups.data.groups[0].default_group);

    // every request reached its own path once, signed, in 2.0.8 names
    let hits = mock.hits();
    assert_eq!(hits.len(), endpoint::ALL.len());
    let mut paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), endpoint::ALL.len());
    for h in &hits {
        assert!(h.verifies(&signer(SECRET)), "{}", h.path);
        assert!(!h.body.contains_key("allocationNo"), "{}", h.path);
        assert!(!h.body.contains_key("bizAllocationNo"), "{}", h.path);
    }
    let start = hits.iter().find(|h| h.path == endpoint::START.path);
    assert_eq!(
        start.map(|h| h.body["receivers"].clone()),
        Some(json!([{"receiverNo": "S1", "amount": 6000}]))
    );
    let listed = hits.iter().find(|h| h.path == endpoint::LIST_ORDERS.path);
    assert_eq!(
        listed.map(|h| (h.body["status"].clone(), h.body["day"].clone())),
        Some((json!("allocation_processing"), json!("2026-12-01")))
    );
    let asked = hits.iter().find(|h| h.path == endpoint::DISCREPANCIES.path);
    assert_eq!(
        asked.map(|h| (h.body["channel"].clone(), h.body["pageSize"].clone())),
        Some((json!("wechat_pay"), json!(1)))
    );
    let many = hits.iter().find(|h| h.path == endpoint::SYNC_MANY.path);
    assert_eq!(
        many.map(|h| h.body["allocNos"].clone()),
        Some(json!(["DEVA1", "DEVA2"]))
    );
}

#[tokio::test]
async fn one_return_is_read_as_one() {
    let mock = Mock::start(|_, _| ok(canned("/unipay/allocation/return")));
    let c = client(mock.url(), 1);
    let q = ReturnQuery {
        return_no: Some("DEVR1".into()),
        ..ReturnQuery::default()
    };
    match c.query_return(&q).await.expect("return").data {
        ReturnAnswer::One(r) => assert_eq!(r.allocation_no, "DEVA1"),
        other => panic!("expected one return: {other:?}"),
    }
}
