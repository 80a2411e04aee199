//! The `alloc` binary against a local server: exit codes by outcome, `--json` against the
//! table, where settings come from, `alloc sign`, and which commands are retried.

use alloc_testkit::{Hit, Mock, Reply, signer};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const SECRET: &str = "cli-secret";

/// A fresh empty directory (the config home of one run).
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "alloc-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `alloc ARGS` with only the environment given (no user config is read).
fn alloc(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = temp_dir();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alloc"));
    cmd.args(args).env_clear().env("HOME", &home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run alloc")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn order() -> Value {
    json!({"allocationNo": "DEVA1", "bizAllocationNo": "B1", "orderNo": "P1",
        "bizOrderNo": "SDK_1", "outOrderNo": "2026", "title": "演示", "channel": "ali_pay",
        "amount": 10000, "status": "finish", "result": "all_success",
        "finishTime": "2026-12-01 10:00:05", "details": [{"receiverNo": "S1", "amount": 6000,
        "rate": 6000, "receiverType": "ali_user_id", "receiverAccount": "2088****0011",
        "receiverName": "门店", "result": "success"}]})
}

/// The service: refuses requests not signed with `SECRET`, answers each path its way.
fn service() -> Mock {
    Mock::start(|hit: &Hit, before| {
        if !hit.verifies(&signer(SECRET)) {
            return Reply::Envelope(20052, "验签失败".into());
        }
        let no = hit
            .body
            .get("allocationNo")
            .or_else(|| hit.body.get("allocNo"))
            .and_then(Value::as_str)
            .unwrap_or("");
        match (hit.path.as_str(), no) {
            (_, "MISSING") => Reply::Refused(signer(SECRET), "分账单不存在".into()),
            (_, "TAMPERED") => Reply::Signed(signer("another-secret"), order()),
            (_, "BROKEN") => Reply::Raw(500, "oops".into()),
            (_, "SYSTEM") => Reply::Envelope(10001, "系统错误".into()),
            (_, "FLAKY") if before == 0 => Reply::Raw(503, "busy".into()),
            ("/unipay/query/allocationOrder", _) => {
                let mut o = order();
                if hit.body.contains_key("allocNo") {
                    o = json!({"allocNo": "DEVA1", "bizAllocNo": "B1", "orderNo": "P1",
                        "bizOrderNo": "SDK_1", "channel": "ali_pay", "amount": 10000,
                        "status": "finish", "result": "all_success", "details": []});
                }
                Reply::Signed(signer(SECRET), o)
            }
            ("/unipay/allocation/finish", _) => Reply::Signed(
                signer(SECRET),
                json!({"allocationNo": no, "bizAllocationNo": "B1", "status": "finish"}),
            ),
            _ => Reply::Signed(signer(SECRET), json!({})),
        }
    })
}

fn env(mock: &Mock) -> Vec<(&'static str, String)> {
    vec![
        ("ALLOC_URL", mock.url().to_owned()),
        ("ALLOC_SIGN_SECRET", SECRET.to_owned()),
    ]
}

fn run(mock: &Mock, args: &[&str]) -> Output {
    let env = env(mock);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    alloc(args, &env)
}

#[test]
fn exit_codes_tell_the_outcome() {
    let mock = service();
    let ok = run(&mock, &["query", "DEVA1"]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));

    let refused = run(&mock, &["query", "MISSING"]);
    assert_eq!(code(&refused), 1);
    assert!(
        stderr(&refused).contains("分账单不存在"),
        "{}",
        stderr(&refused)
    );
    assert!(stdout(&refused).is_empty());

    let wrong_secret = alloc(
        &["query", "DEVA1"],
        &[("ALLOC_URL", mock.url()), ("ALLOC_SIGN_SECRET", "nope")],
    );
    assert_eq!(code(&wrong_secret), 1, "a rejected request is a refusal");
    assert!(
        stderr(&wrong_secret).contains("20052"),
        "{}",
        stderr(&wrong_secret)
    );

    for (no, why) in [
        ("TAMPERED", "signature does not verify"),
        ("BROKEN", "HTTP 500"),
        ("SYSTEM", "10001"),
    ] {
        let o = run(&mock, &["--retries", "0", "query", no]);
        assert_eq!(code(&o), 3, "{no}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{no}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{no}: nothing unverified is shown");
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let nobody = alloc(
        &["--retries", "0", "query", "DEVA1"],
        &[
            ("ALLOC_URL", &format!("http://127.0.0.1:{port}")),
            ("ALLOC_SIGN_SECRET", SECRET),
        ],
    );
    assert_eq!(code(&nobody), 3, "{}", stderr(&nobody));
    assert!(stderr(&nobody).contains("connect"), "{}", stderr(&nobody));
}

#[test]
fn usage_errors_exit_2_and_help_explains_the_codes() {
    let mock = service();
    for args in [
        &["query"][..],
        &["query", "A1", "--biz-allocation-no", "B1"],
        &["start", "B1"],
        &["start", "B1", "--order-no", "P1", "--receiver", "S1=12.5"],
        &["groups", "bind", "G1", "S1"],
        &["receivers", "list"],
        &["frobnicate"],
        &["sign", "not json"],
        &["--timeout", "0", "query", "A1"],
    ] {
        let o = run(&mock, args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
    }
    assert!(mock.hits().is_empty(), "nothing was sent");
    let no_url = alloc(&["query", "A1"], &[("ALLOC_SIGN_SECRET", SECRET)]);
    assert_eq!(code(&no_url), 2);
    assert!(stderr(&no_url).contains("ALLOC_URL"));
    let bad_url = alloc(
        &["query", "A1"],
        &[("ALLOC_URL", "ftp://x"), ("ALLOC_SIGN_SECRET", SECRET)],
    );
    assert_eq!(code(&bad_url), 2);
    let help = alloc(&["--help"], &[]);
    assert_eq!(code(&help), 0);
    for line in [
        "Exit codes:",
        "0  success",
        "1  the service refused",
        "2  usage error",
        "3  transport failure",
    ] {
        assert!(stdout(&help).contains(line), "{line}");
    }
}

#[test]
fn json_prints_the_verified_data_and_the_default_is_a_table() {
    let mock = service();
    let json_out = run(&mock, &["query", "DEVA1", "--json"]);
    assert_eq!(code(&json_out), 0, "{}", stderr(&json_out));
    let data: Value = serde_json::from_str(stdout(&json_out).trim()).expect("one JSON line");
    let mut expected = order();
    expected["code"] = json!(0);
    expected["resTime"] = json!(1_719_475_200);
    let sign = data["sign"].clone();
    assert!(sign.is_string());
    expected["sign"] = sign;
    assert_eq!(data, expected);

    let table = run(&mock, &["query", "DEVA1"]);
    let text = stdout(&table);
    assert!(serde_json::from_str::<Value>(text.trim()).is_err());
    assert!(text.contains("allocationNo     DEVA1"), "{text}");
    assert!(text.contains("status           finish"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("S1") && l.contains("6000") && l.contains("门店")),
        "{text}"
    );
}

#[test]
fn flags_override_the_environment_which_overrides_the_file() {
    let (file_mock, env_mock, flag_mock) = (service(), service(), service());
    let dir = temp_dir();
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "# test\nurl = {}\nsign_secret = \"{SECRET}\"\n",
            file_mock.url()
        ),
    )
    .expect("write config");
    let config = config.to_string_lossy().into_owned();
    let base = ["--config", config.as_str(), "sync", "DEVA1"];

    let o = alloc(&base, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(file_mock.hits().len(), 1, "the file's URL");

    let o = alloc(&base, &[("ALLOC_URL", env_mock.url())]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(env_mock.hits().len(), 1, "the environment over the file");

    let mut flagged = base.to_vec();
    flagged.extend(["--url", flag_mock.url()]);
    let o = alloc(&flagged, &[("ALLOC_URL", env_mock.url())]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(flag_mock.hits().len(), 1, "the flag over the environment");
    assert_eq!(file_mock.hits().len() + env_mock.hits().len(), 2);

    // the secret too: a wrong one in the environment beats the file's right one
    let o = alloc(&base, &[("ALLOC_SIGN_SECRET", "wrong")]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let mut right = base.to_vec();
    right.extend(["--sign-secret", SECRET]);
    let o = alloc(&right, &[("ALLOC_SIGN_SECRET", "wrong")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // a --config that is missing, or has an unknown key, is a usage error
    let o = alloc(&["--config", "/nonexistent/alloc", "sync", "A1"], &[]);
    assert_eq!(code(&o), 2);
    let bad = dir.join("bad");
    std::fs::write(&bad, "colour = blue\n").expect("write");
    let o = alloc(&["--config", &bad.to_string_lossy(), "sync", "A1"], &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("unknown key `colour`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_default_file_is_under_the_config_home() {
    let mock = service();
    let home = temp_dir();
    std::fs::create_dir_all(home.join("alloc")).expect("dir");
    std::fs::write(
        home.join("alloc/config"),
        format!(
            "url = {}\nsign_secret = {SECRET}\nspelling = 2.0.8\n",
            mock.url()
        ),
    )
    .expect("write");
    let o = alloc(
        &["query", "DEVA1", "--json"],
        &[("XDG_CONFIG_HOME", &home.to_string_lossy())],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let hits = mock.hits();
    assert!(
        hits[0].body.contains_key("allocNo"),
        "2.0.8 names from the file"
    );
    let data: Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(data["allocNo"], "DEVA1", "the answer read in 2.0.8 names");
}

#[test]
fn only_idempotent_commands_are_sent_again() {
    let mock = service();
    let queried = run(&mock, &["query", "FLAKY"]);
    assert_eq!(code(&queried), 0, "{}", stderr(&queried));
    assert_eq!(mock.count("/unipay/query/allocationOrder"), 2);
    let finished = run(&mock, &["finish", "FLAKY"]);
    assert_eq!(code(&finished), 3, "{}", stderr(&finished));
    assert_eq!(mock.count("/unipay/allocation/finish"), 1);
    let resent = run(&mock, &["resend", "FLAKY"]);
    assert_eq!(code(&resent), 3);
    assert_eq!(mock.count("/unipay/allocation/notice/resend"), 1);
    let broken = run(&mock, &["--retries", "1", "query", "BROKEN"]);
    assert_eq!(code(&broken), 3);
    assert_eq!(
        mock.count("/unipay/query/allocationOrder"),
        4,
        "1 + 1 retry"
    );
}

#[test]
fn every_command_reaches_its_endpoint() {
    let mock = service();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "start",
                "B1",
                "--order-no",
                "P1",
                "--receiver",
                "S1=6000",
                "--receiver",
                "F1=1500",
                "--not-notify",
            ],
            "/unipay/allocation/start",
        ),
        (&["finish", "--biz", "B1"], "/unipay/allocation/finish"),
        (&["sync", "DEVA1"], "/unipay/sync/allocation"),
        (&["notices", "DEVA1"], "/unipay/query/allocationNotice"),
        (
            &["resend", "DEVA1", "--status", "finish"],
            "/unipay/allocation/notice/resend",
        ),
        (
            &["orders", "flagged", "--page-size", "5"],
            "/unipay/query/flaggedAllocations",
        ),
        (
            &[
                "orders",
                "list",
                "--status",
                "finish",
                "--day",
                "2026-12-01",
            ],
            "/unipay/query/allocationOrders",
        ),
        (
            &["orders", "sync", "DEVA1", "DEVA2"],
            "/unipay/sync/allocations",
        ),
        (&["pay-order", "P1"], "/unipay/query/payOrder"),
        (
            &["allocatable", "--biz-order-no", "SDK_1"],
            "/unipay/query/allocatable",
        ),
        (
            &[
                "return",
                "create",
                "R1",
                "--allocation-no",
                "DEVA1",
                "--receiver",
                "S1",
                "--amount",
                "2500",
            ],
            "/unipay/allocation/return",
        ),
        (
            &["return", "query", "--return-no", "DEVR1"],
            "/unipay/query/allocationReturn",
        ),
        (
            &[
                "receivers",
                "add",
                "S1",
                "--channel",
                "ali_pay",
                "--type",
                "ali_user_id",
                "--account",
                "2088",
                "--relation",
                "STORE",
            ],
            "/unipay/allocation/receiver/add",
        ),
        (
            &["receivers", "remove", "S1"],
            "/unipay/allocation/receiver/remove",
        ),
        (
            &["receivers", "list", "--channel", "ali_pay"],
            "/unipay/query/allocationReceiver",
        ),
        (
            &[
                "groups",
                "create",
                "G1",
                "--name",
                "n",
                "--channel",
                "ali_pay",
            ],
            "/unipay/allocation/group/create",
        ),
        (
            &[
                "groups",
                "update",
                "G1",
                "--name",
                "m",
                "--channel",
                "ali_pay",
            ],
            "/unipay/allocation/group/update",
        ),
        (
            &["groups", "bind", "G1", "S1=6000", "F1=1500"],
            "/unipay/allocation/group/bind",
        ),
        (
            &["groups", "unbind", "G1", "F1"],
            "/unipay/allocation/group/unbind",
        ),
        (
            &["groups", "set-default", "G1"],
            "/unipay/allocation/group/setDefault",
        ),
        (
            &["groups", "clear-default", "G1"],
            "/unipay/allocation/group/clearDefault",
        ),
        (
            &["groups", "delete", "G1"],
            "/unipay/allocation/group/delete",
        ),
        (
            &["groups", "list", "--group-no", "G1"],
            "/unipay/allocation/group/query",
        ),
    ];
    for (args, path) in cases {
        // the canned `{}` does not read as most answers: the request is what is checked here
        let _ = run(&mock, args);
        assert_eq!(mock.count(path), 1, "{args:?}");
    }
    let body = |path: &str| {
        mock.hits()
            .into_iter()
            .find(|h| h.path == path)
            .map(|h| h.body)
            .unwrap_or_default()
    };
    let start = body("/unipay/allocation/start");
    assert_eq!(
        start["receivers"],
        json!([{"receiverNo": "S1", "amount": 6000}, {"receiverNo": "F1", "amount": 1500}])
    );
    assert_eq!(start["notNotify"], json!(true));
    assert_eq!(body("/unipay/allocation/finish")["bizAllocationNo"], "B1");
    assert_eq!(
        body("/unipay/allocation/group/bind")["receivers"],
        json!([{"receiverNo": "S1", "rate": 6000}, {"receiverNo": "F1", "rate": 1500}])
    );
    assert_eq!(body("/unipay/allocation/return")["amount"], json!(2500));
    let listed = body("/unipay/query/allocationOrders");
    assert_eq!(
        (&listed["status"], &listed["day"]),
        (&json!("finish"), &json!("2026-12-01"))
    );
    assert_eq!(
        body("/unipay/sync/allocations")["allocationNos"],
        json!(["DEVA1", "DEVA2"])
    );
}

#[test]
fn sign_adds_the_time_and_a_nonce_unless_it_signs_a_notice() {
    let signed = alloc(&["sign", r#"{"orderNo":"P1"}"#], &[("SIGN_SECRET", SECRET)]);
    assert_eq!(code(&signed), 0, "{}", stderr(&signed));
    let body: serde_json::Map<String, Value> =
        serde_json::from_str(stdout(&signed).trim()).expect("json");
    assert!(body["reqTime"].as_i64().is_some_and(|t| t > 1_700_000_000));
    assert!(body["nonceStr"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(signer(SECRET).verify(&body));

    let notice = r#"{"orderNo":"P1","amount":10000,"resTime":5}"#;
    let signed = alloc(
        &["sign", "--notice", notice],
        &[("ALLOC_SIGN_SECRET", SECRET), ("SIGN_SECRET", "ignored")],
    );
    let body: serde_json::Map<String, Value> =
        serde_json::from_str(stdout(&signed).trim()).expect("json");
    assert_eq!(body.len(), 4, "only sign is added: {body:?}");
    assert!(signer(SECRET).verify(&body));

    let md5 = alloc(
        &["sign", "--notice", notice],
        &[("SIGN_SECRET", SECRET), ("SIGN_TYPE", "MD5")],
    );
    let body: serde_json::Map<String, Value> =
        serde_json::from_str(stdout(&md5).trim()).expect("json");
    let md5_signer = alloc_protocol::Signer::new(
        alloc_protocol::SignType::Md5,
        alloc_protocol::Secret::new(SECRET),
    );
    assert!(md5_signer.verify(&body));
    let missing = alloc(&["sign", notice], &[]);
    assert_eq!(code(&missing), 2);
}

fn statement(day: &str) -> Value {
    json!({"channel": "wechat_pay", "day": day, "account": "1900000109",
        "status": "discrepancies", "oursSplits": 1, "oursSplitAmount": 3000, "oursReturns": 0,
        "oursReturnAmount": 0, "channelSplits": 4, "channelSplitAmount": 3600,
        "channelReturns": 0, "channelReturnAmount": 0, "channelOtherRows": 0,
        "discrepancies": 3, "unresolved": 3, "reconciledAt": 1_796_170_000,
        "billSha1": "a9993e364706816aba3e25717850c26c9cd0d89d"})
}

/// The reconciliation endpoints: a day's statement (two for a range), a page of
/// discrepancies with the next page's cursor, a day never reconciled refused.
fn reconciliation() -> Mock {
    Mock::start(|hit: &Hit, _| {
        let day = hit.body.get("day").and_then(Value::as_str).unwrap_or("");
        match (hit.path.as_str(), day) {
            (_, "2026-11-30") => Reply::Refused(
                signer(SECRET),
                "对账单不存在 (no statement of wechat_pay for 2026-11-30: the day was not reconciled)"
                    .into(),
            ),
            ("/unipay/query/reconcileStatement", "") => Reply::Signed(
                signer(SECRET),
                json!({"statements": [statement("2026-12-02"), statement("2026-12-01")]}),
            ),
            ("/unipay/query/reconcileStatement", d) => Reply::Signed(
                signer(SECRET),
                json!({"statements": [statement(d)]}),
            ),
            ("/unipay/query/reconcileDiscrepancies", _) => Reply::Signed(
                signer(SECRET),
                json!({"discrepancies": [{"kind": "missing_here", "number": "X901",
                    "what": "split", "receiverAccount": "19****91", "channelAmount": 100,
                    "channelStatus": "SUCCESS", "resolved": false,
                    "evidence": "the channel's per-order query: none"}],
                    "total": 3, "nextCursor": "01796170000abcdef.1"}),
            ),
            _ => Reply::Signed(signer(SECRET), json!({})),
        }
    })
}

/// `alloc WORDS` (split on spaces) against `mock`.
fn words(mock: &Mock, words: &str) -> Output {
    run(mock, &words.split(' ').collect::<Vec<_>>())
}

/// What a command that must succeed printed.
fn printed(o: &Output) -> String {
    assert_eq!(code(o), 0, "{}", stderr(o));
    stdout(o)
}

#[test]
fn reconcile_commands_send_their_requests_and_show_tables() {
    let mock = reconciliation();
    let text = printed(&words(
        &mock,
        "reconcile statement --channel wechat_pay --day 2026-12-01",
    ));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for line in [
        "day 2026-12-01",
        "status discrepancies",
        "channel splits (n / fen) 4 / 3600",
        "unresolved 3",
        "bill SHA-1 a9993e364706816aba3e25717850c26c9cd0d89d",
    ] {
        assert!(flat.contains(line), "{line}\n{text}");
    }
    let sent = |i: usize, members: [&str; 3]| -> Vec<Value> {
        let body = &mock.hits()[i].body;
        members
            .iter()
            .map(|m| body.get(*m).cloned().unwrap_or(Value::Null))
            .collect()
    };
    assert_eq!(
        sent(0, ["channel", "day", "from"]),
        [json!("wechat_pay"), json!("2026-12-01"), Value::Null]
    );

    let range = "reconcile statement --channel wechat_pay --from 2026-12-01 --to 2026-12-02";
    let text = printed(&words(&mock, range));
    assert!(text.starts_with("DAY         STATUS"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert_eq!(
        sent(1, ["from", "to", "day"]),
        [json!("2026-12-01"), json!("2026-12-02"), Value::Null]
    );

    let page = "reconcile discrepancies --channel wechat_pay --day 2026-12-01 --page-size 1 \
                --cursor 01796170000abcdef.0";
    let text = printed(&words(&mock, page));
    assert!(
        text.contains("missing_here  split  X901    19****91"),
        "{text}"
    );
    assert!(
        text.ends_with("3 in all\nnext page: --cursor 01796170000abcdef.1\n"),
        "{text}"
    );
    assert_eq!(
        sent(2, ["pageSize", "cursor", "from"]),
        [json!(1), json!("01796170000abcdef.0"), Value::Null]
    );

    let o = words(
        &mock,
        "reconcile statement --channel wechat_pay --day 2026-11-30",
    );
    assert_eq!(code(&o), 1, "a refusal");
    assert!(stderr(&o).contains("对账单不存在"), "{}", stderr(&o));

    let before = mock.hits().len();
    for bad in [
        "reconcile statement --channel wechat_pay",
        "reconcile statement --channel wechat_pay --day 2026-12-01 --from 2026-12-01 --to 2026-12-02",
        "reconcile statement --channel wechat_pay --from 2026-12-01",
        "reconcile statement --channel union_pay --day 2026-12-01",
        "reconcile discrepancies --channel wechat_pay",
        "reconcile discrepancies --channel wechat_pay --day 2026-12-01 --page-size 101",
    ] {
        let o = words(&mock, bad);
        assert_eq!(code(&o), 2, "{bad}: {}", stderr(&o));
    }
    assert_eq!(mock.hits().len(), before, "nothing sent for a usage error");
}
