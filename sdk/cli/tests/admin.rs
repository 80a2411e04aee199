//! `alloc admin ...` against a local server: each command's method, path, query and body,
//! SigV4 credentials from the environment, the sign secret printed once, exit codes by outcome.
//! (The signature itself is checked independently in sdk/client/tests/admin.rs.)

use alloc_testkit::{Hit, Mock, Reply};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const SECRET_HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "alloc-admin-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `alloc ARGS` with only the environment given.
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

fn merchant(status: &str) -> Value {
    json!({"mchNo": "M1", "name": "Shop one", "status": status, "createdAt": 1_717_264_189,
        "updatedAt": 1_717_264_189})
}

fn app() -> Value {
    json!({"appId": "A1", "mchNo": "M1", "name": "web", "status": "enabled",
        "signType": "MD5", "reqSign": true, "secretRotatedAt": 1_717_264_189,
        "previousSecretValidUntil": 1_717_350_589,
        "settings": {"reqSign": true, "reqTimeoutSecs": 600, "fieldNames": "2.0.7"},
        "overrides": {"reqTimeoutSecs": 600},
        "channels": {"ali_pay": {"mode": "direct", "appId": "2021000000000001",
            "gatewayUrl": "http://127.0.0.1:9100/gateway.do", "certMode": false,
            "notifyUrl": null, "timeoutMs": 8000}},
        "createdAt": 1_717_264_189, "updatedAt": 1_717_264_189})
}

/// An app whose accounts are under provider `sp-1` (as the service shows them: no token).
fn app_under_provider() -> Value {
    let mut app = app();
    app["appId"] = json!("ISV1");
    app["channels"] = json!({
        "wechat_pay": {"mode": "provider", "mchid": "1900000100", "appid": "wx8888888888880100",
            "merchantSerial": "5157F09E", "publicKeyId": "PUB_KEY_ID_SP",
            "baseUrl": "http://127.0.0.1:9200", "timeoutMs": 8000, "subMchid": "1900000201",
            "subAppid": "wx8888888888880201", "provider": "sp-1"},
        "ali_pay": {"mode": "provider", "appId": "2021000000000100",
            "gatewayUrl": "http://127.0.0.1:9100/gateway.do", "notifyUrl": null, "timeoutMs": 8000,
            "appAuth": {"userId": "2088000000000201", "authAppId": "2021000000000201",
                "expiresAt": 1_800_000_000, "refreshExpiresAt": 1_810_000_000},
            "provider": "sp-1"}});
    app
}

fn provider() -> Value {
    json!({"providerId": "sp-1", "name": "服务商", "createdAt": 1_717_264_189,
        "updatedAt": 1_717_264_190,
        "channels": {"wechat_pay": {"mchid": "1900000100", "appid": "wx8888888888880100",
            "merchantSerial": "5157F09E", "publicKeyId": "PUB_KEY_ID_SP",
            "baseUrl": "http://127.0.0.1:9200", "timeoutMs": 8000}}})
}

fn ok(body: Value) -> Reply {
    Reply::Raw(200, body.to_string())
}

/// The admin API: a request whose credential is not `AKIDCLI` is refused as API Gateway refuses
/// it; each route answers its view.
fn service() -> Mock {
    Mock::start(|hit: &Hit, _| {
        let auth = hit.header("authorization").first().map(|a| a.to_string());
        if !auth.is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential=AKIDCLI/")) {
            return Reply::Raw(403, r#"{"message":"Forbidden"}"#.into());
        }
        match (hit.method.as_str(), hit.path.as_str()) {
            ("POST", "/admin/merchants") if hit.json()["mchNo"] == "TAKEN" => Reply::Raw(
                409,
                json!({"code": "conflict", "message": "merchant TAKEN exists"}).to_string(),
            ),
            ("GET", "/admin/merchants/BROKEN") => Reply::Raw(
                500,
                json!({"code": "system", "message": "system error"}).to_string(),
            ),
            ("GET", "/admin/merchants") => ok(
                json!({"merchants": [merchant("enabled"), {"mchNo": "M2", "name": "二号店",
                    "status": "disabled", "createdAt": 1_717_264_190, "updatedAt": 1_717_264_190}],
                    "next": "NEXT1"}),
            ),
            ("GET", "/admin/merchants/M1/apps") => ok(json!({"apps": [app()]})),
            ("POST", p) if p.ends_with("/disable") && p.starts_with("/admin/merchants/") => {
                ok(json!({"merchant": merchant("disabled")}))
            }
            (_, p) if p.starts_with("/admin/merchants") => {
                ok(json!({"merchant": merchant("enabled")}))
            }
            ("POST", "/admin/apps") | ("POST", "/admin/apps/A1/rotate-secret") => {
                ok(json!({"app": app(), "signSecret": SECRET_HEX}))
            }
            ("POST", "/admin/apps/A1/reconcile") => Reply::Raw(
                202,
                json!({"queued": {"job": "reconcile", "appId": "A1", "channel": "wechat_pay",
                    "day": "2026-12-01"}})
                .to_string(),
            ),
            ("POST", "/admin/apps/OLD/reconcile") => Reply::Raw(
                400,
                json!({"code": "invalid",
                    "message": "day: must be within the last 3 months: the channels serve no older bill"})
                .to_string(),
            ),
            ("GET", "/admin/apps/ISV1") => ok(json!({"app": app_under_provider()})),
            (_, p) if p.starts_with("/admin/apps/") => ok(json!({"app": app()})),
            ("POST", "/admin/providers") if hit.json()["providerId"] == "TAKEN" => Reply::Raw(
                409,
                json!({"code": "conflict", "message": "provider TAKEN exists"}).to_string(),
            ),
            (_, p) if p.starts_with("/admin/providers") => ok(json!({"provider": provider()})),
            ("GET", "/admin/audit") => ok(json!({"records": [{"at": 1_717_264_189,
                "principal": "arn:aws:iam::000000000000:user/local-admin",
                "action": "app.create", "target": "app:A1", "detail": {"signType": "MD5"}}],
                "next": null})),
            _ => Reply::Raw(404, r#"{"message":"Not Found"}"#.into()),
        }
    })
}

fn env(mock: &Mock) -> Vec<(&'static str, String)> {
    vec![
        ("ALLOC_URL", mock.url().to_owned()),
        ("AWS_ACCESS_KEY_ID", "AKIDCLI".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "cli-secret-key".to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
    ]
}

fn run(mock: &Mock, args: &[&str]) -> Output {
    let env = env(mock);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    alloc(args, &env)
}

fn last(mock: &Mock) -> Hit {
    mock.hits().pop().expect("a request was sent")
}

#[test]
fn every_admin_command_sends_its_request() {
    let mock = service();
    let dir = temp_dir();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    };
    let private = write(
        "app_private.pem",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkqhkiG9w0B\n-----END PRIVATE KEY-----\n",
    );
    let public = write(
        "alipay_public.pem",
        "-----BEGIN PUBLIC KEY-----\r\nMIIBIjANBgkq\r\n-----END PUBLIC KEY-----\r\n",
    );
    let der = write("wechat_public.txt", "MIIBIjANBgkqhkiG9w0BAQEFAAOC\n");
    let apiv3 = write("apiv3.txt", "0123456789abcdef0123456789abcdef\n");
    let cert = "-----BEGIN CERTIFICATE-----\nMIIDfzCCAmeg\n-----END CERTIFICATE-----\n";
    let (app_cert, alipay_cert, root_cert) = (
        write("appCert.crt", cert),
        write("alipayCert.crt", cert),
        write("root.crt", cert),
    );

    let cases: Vec<Case> = vec![
        (
            vec!["merchant", "create", "--mch-no", "M1", "--name", "Shop one"],
            "POST",
            "/admin/merchants",
            None,
            json!({"mchNo": "M1", "name": "Shop one"}),
        ),
        (
            vec!["merchant", "list"],
            "GET",
            "/admin/merchants",
            None,
            Value::Null,
        ),
        (
            vec!["merchant", "list", "--limit", "10", "--cursor", "c:1"],
            "GET",
            "/admin/merchants",
            Some("limit=10&cursor=c%3A1"),
            Value::Null,
        ),
        (
            vec!["merchant", "show", "M1"],
            "GET",
            "/admin/merchants/M1",
            None,
            Value::Null,
        ),
        (
            vec!["merchant", "disable", "M1"],
            "POST",
            "/admin/merchants/M1/disable",
            None,
            Value::Null,
        ),
        (
            vec!["merchant", "enable", "M1"],
            "POST",
            "/admin/merchants/M1/enable",
            None,
            Value::Null,
        ),
        (
            vec![
                "app",
                "create",
                "--mch-no",
                "M1",
                "--app-id",
                "A1",
                "--name",
                "web",
                "--sign-type",
                "MD5",
            ],
            "POST",
            "/admin/apps",
            None,
            json!({"mchNo": "M1", "appId": "A1", "name": "web", "signType": "MD5"}),
        ),
        (
            vec!["app", "create", "--mch-no", "M1"],
            "POST",
            "/admin/apps",
            None,
            json!({"mchNo": "M1"}),
        ),
        (
            vec!["app", "list", "--mch-no", "M1"],
            "GET",
            "/admin/merchants/M1/apps",
            None,
            Value::Null,
        ),
        (
            vec!["app", "show", "A1"],
            "GET",
            "/admin/apps/A1",
            None,
            Value::Null,
        ),
        (
            vec!["app", "disable", "A1"],
            "POST",
            "/admin/apps/A1/disable",
            None,
            Value::Null,
        ),
        (
            vec!["app", "enable", "A1"],
            "POST",
            "/admin/apps/A1/enable",
            None,
            Value::Null,
        ),
        (
            vec!["app", "rotate-secret", "A1", "--grace-secs", "3600"],
            "POST",
            "/admin/apps/A1/rotate-secret",
            None,
            json!({"graceSecs": 3600}),
        ),
        (
            vec!["app", "rotate-secret", "A1"],
            "POST",
            "/admin/apps/A1/rotate-secret",
            None,
            json!({}),
        ),
        (
            vec![
                "app",
                "settings",
                "A1",
                "reqTimeoutSecs=600",
                "notifyUrl=null",
                "fieldNames=2.0.8",
                "autoFinish=false",
                "notifyDelaysSecs=[15,15,30,180,1800,1800,1800,1800,3600,3600,3600,3600,3600,3600,21600]",
            ],
            "POST",
            "/admin/apps/A1/settings",
            None,
            json!({"settings": {"reqTimeoutSecs": 600, "notifyUrl": null, "fieldNames": "2.0.8",
                "autoFinish": false, "notifyDelaysSecs": [15,15,30,180,1800,1800,1800,1800,3600,
                3600,3600,3600,3600,3600,21600]}}),
        ),
        (
            vec![
                "channel",
                "set",
                "A1",
                "ali_pay",
                "--account-app-id",
                "2021000000000001",
                "--private-key-file",
                &private,
                "--public-key-file",
                &public,
                "--gateway-url",
                "http://127.0.0.1:9100/gateway.do",
                "--notify-url",
                "http://n/x",
            ],
            "PUT",
            "/admin/apps/A1/channels/ali_pay",
            None,
            json!({"mode": "direct", "appId": "2021000000000001",
                "privateKey": "MIIEvQIBADANBgkqhkiG9w0B", "publicKey": "MIIBIjANBgkq",
                "gatewayUrl": "http://127.0.0.1:9100/gateway.do", "notifyUrl": "http://n/x"}),
        ),
        (
            vec![
                "channel",
                "set",
                "A1",
                "ali_pay",
                "--account-app-id",
                "2021000000000001",
                "--private-key-file",
                &private,
                "--app-cert-file",
                &app_cert,
                "--alipay-cert-file",
                &alipay_cert,
                "--root-cert-file",
                &root_cert,
            ],
            "PUT",
            "/admin/apps/A1/channels/ali_pay",
            None,
            json!({"mode": "direct", "appId": "2021000000000001",
                "privateKey": "MIIEvQIBADANBgkqhkiG9w0B", "appCert": cert, "alipayCert": cert,
                "rootCert": cert}),
        ),
        (
            vec![
                "channel",
                "set",
                "A1",
                "wechat_pay",
                "--mchid",
                "1900000001",
                "--appid",
                "wx1",
                "--merchant-serial",
                "5157F09E",
                "--public-key-id",
                "PUB_KEY_ID_1",
                "--private-key-file",
                &private,
                "--public-key-file",
                &der,
                "--apiv3-key-file",
                &apiv3,
                "--base-url",
                "http://127.0.0.1:9200",
            ],
            "PUT",
            "/admin/apps/A1/channels/wechat_pay",
            None,
            json!({"mode": "direct", "mchid": "1900000001", "appid": "wx1",
                "merchantSerial": "5157F09E", "publicKeyId": "PUB_KEY_ID_1",
                "privateKey": "MIIEvQIBADANBgkqhkiG9w0B", "publicKey": "MIIBIjANBgkqhkiG9w0BAQEFAAOC",
                "apiV3Key": "0123456789abcdef0123456789abcdef", "baseUrl": "http://127.0.0.1:9200"}),
        ),
        (
            vec!["channel", "remove", "A1", "wechat_pay"],
            "DELETE",
            "/admin/apps/A1/channels/wechat_pay",
            None,
            Value::Null,
        ),
        (
            vec![
                "reconcile",
                "run",
                "--app",
                "A1",
                "--channel",
                "wechat_pay",
                "--day",
                "2026-12-01",
            ],
            "POST",
            "/admin/apps/A1/reconcile",
            None,
            json!({"channel": "wechat_pay", "day": "2026-12-01"}),
        ),
        (vec!["audit"], "GET", "/admin/audit", None, Value::Null),
        (
            vec!["audit", "--target", "app:A1", "--limit", "5"],
            "GET",
            "/admin/audit",
            Some("limit=5&target=app%3AA1"),
            Value::Null,
        ),
    ];
    sends(&mock, &cases);
}

/// `alloc admin ARGS` of each case: its method, path, query and JSON body, signed with SigV4.
type Case<'a> = (Vec<&'a str>, &'a str, &'a str, Option<&'a str>, Value);

fn sends(mock: &Mock, cases: &[Case]) {
    for (args, method, path, query, body) in cases {
        let mut full = vec!["admin"];
        full.extend(args.iter().copied());
        let o = run(mock, &full);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        let hit = last(mock);
        assert_eq!(
            (hit.method.as_str(), hit.path.as_str()),
            (*method, *path),
            "{args:?}"
        );
        assert_eq!(hit.query.as_deref(), *query, "{args:?}");
        assert_eq!(hit.json(), *body, "{args:?}");
        let auth = hit.header("authorization")[0].to_owned();
        let date = &hit.header("x-amz-date")[0][..8];
        assert!(
            auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential=AKIDCLI/{date}/eu-west-1/execute-api/aws4_request, SignedHeaders="
            )),
            "{auth}"
        );
        assert!(hit.header("x-amz-security-token").is_empty());
    }
    assert_eq!(mock.hits().len(), cases.len());
}

#[test]
fn answers_are_tables_or_one_line_of_json() {
    let mock = service();
    let o = run(&mock, &["admin", "merchant", "list"]);
    let text = stdout(&o);
    assert!(
        text.starts_with("MCH_NO  NAME      STATUS    CREATED\n"),
        "{text}"
    );
    assert!(
        text.contains("M1      Shop one  enabled   2024-06-01 17:49:49 UTC"),
        "{text}"
    );
    assert!(text.contains("M2      二号店    disabled"), "{text}");
    assert!(text.ends_with("next page: --cursor NEXT1\n"), "{text}");

    let o = run(&mock, &["admin", "merchant", "disable", "M1"]);
    let text = stdout(&o);
    assert!(
        text.contains("mchNo      M1\n") && text.contains("status     disabled\n"),
        "{text}"
    );

    let o = run(&mock, &["admin", "app", "show", "A1"]);
    let text = stdout(&o);
    for line in [
        "appId                     A1",
        "signType                  MD5",
        "previousSecretValidUntil  2024-06-02 17:49:49 UTC",
        "reqTimeoutSecs  600    yes",
        "fieldNames      2.0.7",
        "ali_pay  direct  appId=2021000000000001 certMode=false gatewayUrl=http://127.0.0.1:9100/gateway.do timeoutMs=8000",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let o = run(&mock, &["admin", "app", "list", "--mch-no", "M1"]);
    assert!(
        stdout(&o).contains("A1      web   enabled  MD5        ali_pay"),
        "{}",
        stdout(&o)
    );
    let o = run(&mock, &["admin", "audit"]);
    let text = stdout(&o);
    assert!(
        text.contains(
            "arn:aws:iam::000000000000:user/local-admin  app.create  app:A1  {\"signType\":\"MD5\"}"
        ),
        "{text}"
    );
    assert!(!text.contains("next page"), "{text}");

    let o = run(&mock, &["admin", "app", "show", "A1", "--json"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    let answer: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(answer, json!({"app": app()}), "the answer as received");
}

#[test]
fn a_new_sign_secret_is_printed_once() {
    let mock = service();
    for args in [
        &["admin", "app", "create", "--mch-no", "M1"][..],
        &["admin", "app", "rotate-secret", "A1"],
    ] {
        let o = run(&mock, args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let text = stdout(&o);
        assert_eq!(text.matches(SECRET_HEX).count(), 1, "{text}");
        assert!(
            text.contains(&format!("signSecret  {SECRET_HEX}\n")),
            "{text}"
        );
        assert!(
            text.contains("The sign secret is shown only now and will not be shown again"),
            "{text}"
        );
        assert!(!stderr(&o).contains(SECRET_HEX));
        let json = run(&mock, &[args, &["--json"]].concat());
        let answer: Value = serde_json::from_str(stdout(&json).trim()).expect("JSON");
        assert_eq!(answer["signSecret"], SECRET_HEX);
        assert_eq!(stdout(&json).matches(SECRET_HEX).count(), 1);
    }
    let o = run(&mock, &["admin", "app", "rotate-secret", "A1"]);
    assert!(
        stdout(&o).contains("The previous secret still verifies until 2024-06-02 17:49:49 UTC."),
        "{}",
        stdout(&o)
    );
}

#[test]
fn credentials_and_region_come_from_the_environment() {
    let mock = service();
    let url = mock.url().to_owned();
    // no credentials: a usage error naming the variables, nothing sent
    for env in [
        vec![("ALLOC_URL", url.as_str())],
        vec![
            ("ALLOC_URL", url.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKIDCLI"),
        ],
        vec![
            ("ALLOC_URL", url.as_str()),
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ],
    ] {
        let o = alloc(&["admin", "merchant", "show", "M1"], &env);
        assert_eq!(code(&o), 2, "{env:?}");
        let e = stderr(&o);
        assert!(
            e.contains("AWS_ACCESS_KEY_ID") && e.contains("AWS_SECRET_ACCESS_KEY"),
            "{e}"
        );
    }
    // the merchant sign secret is not needed, the URL is
    let no_url = alloc(
        &["admin", "audit"],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDCLI"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ],
    );
    assert_eq!(code(&no_url), 2);
    assert!(stderr(&no_url).contains("ALLOC_URL"));
    assert!(mock.hits().is_empty(), "nothing was sent");

    let base = [
        ("ALLOC_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIDCLI"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
    ];
    let region_of = |extra: &[(&str, &str)]| {
        let env: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
        let o = alloc(&["admin", "merchant", "show", "M1"], &env);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let hit = last(&mock);
        let auth = hit.header("authorization")[0].to_owned();
        auth.split('/').nth(2).unwrap_or_default().to_owned()
    };
    assert_eq!(region_of(&[]), "us-east-1");
    assert_eq!(
        region_of(&[("AWS_DEFAULT_REGION", "ap-east-1")]),
        "ap-east-1"
    );
    assert_eq!(
        region_of(&[
            ("AWS_DEFAULT_REGION", "ap-east-1"),
            ("AWS_REGION", "cn-north-1")
        ]),
        "cn-north-1"
    );
    region_of(&[("AWS_SESSION_TOKEN", "TOKEN123")]);
    let hit = last(&mock);
    assert_eq!(hit.header("x-amz-security-token"), ["TOKEN123"]);
    assert!(hit.header("authorization")[0].contains("x-amz-security-token"));
}

#[test]
fn exit_codes_tell_the_outcome() {
    let mock = service();
    let refused = alloc(
        &["admin", "merchant", "show", "M1"],
        &[
            ("ALLOC_URL", mock.url()),
            ("AWS_ACCESS_KEY_ID", "AKIDOTHER"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ],
    );
    assert_eq!(code(&refused), 1);
    assert!(
        stderr(&refused).contains("forbidden: the caller's AWS credentials were refused"),
        "{}",
        stderr(&refused)
    );
    assert!(stdout(&refused).is_empty());

    let conflict = run(
        &mock,
        &[
            "admin", "merchant", "create", "--mch-no", "TAKEN", "--name", "x",
        ],
    );
    assert_eq!(code(&conflict), 1);
    assert!(
        stderr(&conflict).contains("refused (HTTP 409 conflict): merchant TAKEN exists"),
        "{}",
        stderr(&conflict)
    );
    let broken = run(
        &mock,
        &["admin", "--retries", "1", "merchant", "show", "BROKEN"],
    );
    assert_eq!(code(&broken), 3);
    assert!(stderr(&broken).contains("HTTP 500"), "{}", stderr(&broken));
    assert_eq!(
        mock.count("/admin/merchants/BROKEN"),
        2,
        "a read is sent again"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let nobody = alloc(
        &["admin", "--retries", "0", "audit"],
        &[
            ("ALLOC_URL", &format!("http://127.0.0.1:{port}")),
            ("AWS_ACCESS_KEY_ID", "AKIDCLI"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ],
    );
    assert_eq!(code(&nobody), 3, "{}", stderr(&nobody));
    assert!(stderr(&nobody).contains("connect"), "{}", stderr(&nobody));
}

#[test]
fn bad_arguments_are_usage_errors_and_send_nothing() {
    let mock = service();
    let dir = temp_dir();
    let key = dir.join("key.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let key = key.to_string_lossy().into_owned();
    let garbage = dir.join("garbage.txt");
    std::fs::write(&garbage, "this is not a key").expect("write");
    let garbage = garbage.to_string_lossy().into_owned();
    let cases: &[&[&str]] = &[
        &["admin"],
        &["admin", "merchant", "create", "--mch-no", "M1"],
        &["admin", "merchant", "list", "--limit", "0"],
        &["admin", "merchant", "list", "--limit", "101"],
        &["admin", "app", "create"],
        &[
            "admin",
            "app",
            "create",
            "--mch-no",
            "M1",
            "--sign-type",
            "SHA1",
        ],
        &[
            "admin",
            "app",
            "rotate-secret",
            "A1",
            "--grace-secs",
            "604801",
        ],
        &["admin", "app", "settings", "A1"],
        &["admin", "app", "settings", "A1", "reqSign"],
        &[
            "admin",
            "app",
            "settings",
            "A1",
            "reqSign=true",
            "reqSign=false",
        ],
        &["admin", "channel", "set", "A1", "union_pay"],
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "ali_pay",
            "--private-key-file",
            &key,
        ],
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "ali_pay",
            "--account-app-id",
            "2021",
            "--private-key-file",
            &key,
        ],
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "ali_pay",
            "--account-app-id",
            "2021",
            "--private-key-file",
            &key,
            "--public-key-file",
            &key,
            "--root-cert-file",
            &key,
        ],
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "ali_pay",
            "--account-app-id",
            "2021",
            "--private-key-file",
            "/nonexistent/key.pem",
            "--public-key-file",
            &key,
        ],
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "ali_pay",
            "--account-app-id",
            "2021",
            "--private-key-file",
            &garbage,
            "--public-key-file",
            &key,
        ],
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "ali_pay",
            "--account-app-id",
            "2021",
            "--private-key-file",
            &key,
            "--public-key-file",
            &key,
            "--mchid",
            "1900",
        ],
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "wechat_pay",
            "--mchid",
            "1900",
            "--appid",
            "wx",
            "--merchant-serial",
            "S",
            "--public-key-id",
            "P",
            "--private-key-file",
            &key,
            "--public-key-file",
            &key,
        ],
        &["admin", "channel", "remove", "A1"],
    ];
    for args in cases {
        let o = run(&mock, args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
    }
    assert!(mock.hits().is_empty(), "nothing was sent");
    let o = run(
        &mock,
        &[
            "admin",
            "channel",
            "set",
            "A1",
            "wechat_pay",
            "--mchid",
            "1900",
            "--appid",
            "wx",
            "--merchant-serial",
            "S",
            "--public-key-id",
            "P",
            "--private-key-file",
            &key,
            "--public-key-file",
            &key,
        ],
    );
    assert!(
        stderr(&o).contains("wechat_pay needs --apiv3-key-file"),
        "{}",
        stderr(&o)
    );
    let help = alloc(&["admin", "--help"], &[]);
    assert_eq!(code(&help), 0);
    for line in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "Exit codes",
    ] {
        assert!(stdout(&help).contains(line), "{line}");
    }
}

/// Files for the provider tests: a private key, WeChat Pay's public key, an APIv3 key, and a
/// merchant's app_auth_token and refresh token.
struct ProviderFiles {
    private: String,
    public: String,
    apiv3: String,
    token: String,
    refresh: String,
    empty: String,
}

const TOKEN: &str = "202601BBthe-app-auth-token";
const REFRESH: &str = "202601BBthe-refresh-token";

fn provider_files() -> ProviderFiles {
    let dir = temp_dir();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    };
    ProviderFiles {
        private: write(
            "sp_private.pem",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkqhkiG9w0B\n-----END PRIVATE KEY-----\n",
        ),
        public: write("wechat_public.txt", "MIIBIjANBgkqhkiG9w0BAQEFAAOC\n"),
        apiv3: write("apiv3.txt", "0123456789abcdef0123456789abcdef\n"),
        token: write("app_auth_token", &format!("{TOKEN}\n")),
        refresh: write("app_refresh_token", REFRESH),
        empty: write("empty_token", " \n"),
    }
}

/// The words of `text` (the temporary files' paths have no blanks), then `more`.
fn words<'a>(text: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    text.split_whitespace()
        .chain(more.iter().copied())
        .collect()
}

/// `channel set ISV1 ali_pay --mode provider` with a merchant's authorisation, and `extra`.
fn isv_alipay<'a>(f: &'a ProviderFiles, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = words(
        "channel set ISV1 ali_pay --mode provider --provider sp-1 --user-id 2088000000000201",
        &["--app-auth-token-file", &f.token],
    );
    args.extend(["--app-refresh-token-file", &f.refresh]);
    args.extend(words(
        "--expires-at 1800000000 --refresh-expires-at 1810000000",
        extra,
    ));
    args
}

#[test]
fn provider_commands_send_their_requests() {
    let mock = service();
    let f = provider_files();
    let authorised = json!({"mode": "provider", "provider": "sp-1", "userId": "2088000000000201",
        "appAuthToken": TOKEN, "appRefreshToken": REFRESH, "expiresAt": 1_800_000_000,
        "refreshExpiresAt": 1_810_000_000});
    let mut with_app_id = authorised.clone();
    with_app_id["authAppId"] = json!("2021000000000201");
    let sp_keys = [
        "--private-key-file",
        &f.private,
        "--public-key-file",
        &f.public,
    ];
    let mut wechat_sp = words(
        "provider channel set sp-1 wechat_pay --mchid 1900000100 --appid wx8888888888880100 \
         --merchant-serial 5157F09E --public-key-id PUB_KEY_ID_SP --base-url http://127.0.0.1:9200",
        &sp_keys,
    );
    wechat_sp.extend(["--apiv3-key-file", &f.apiv3]);
    let cases: Vec<Case> = vec![
        (
            words("provider create --provider-id sp-1 --name 服务商", &[]),
            "POST",
            "/admin/providers",
            None,
            json!({"providerId": "sp-1", "name": "服务商"}),
        ),
        (
            words("provider create --provider-id sp-2", &[]),
            "POST",
            "/admin/providers",
            None,
            json!({"providerId": "sp-2"}),
        ),
        (
            words("provider show sp-1", &[]),
            "GET",
            "/admin/providers/sp-1",
            None,
            Value::Null,
        ),
        // a provider's own accounts: a direct account's members, no `mode`
        (
            wechat_sp,
            "PUT",
            "/admin/providers/sp-1/channels/wechat_pay",
            None,
            json!({"mchid": "1900000100", "appid": "wx8888888888880100",
                "merchantSerial": "5157F09E", "publicKeyId": "PUB_KEY_ID_SP",
                "privateKey": "MIIEvQIBADANBgkqhkiG9w0B", "publicKey": "MIIBIjANBgkqhkiG9w0BAQEFAAOC",
                "apiV3Key": "0123456789abcdef0123456789abcdef", "baseUrl": "http://127.0.0.1:9200"}),
        ),
        (
            words(
                "provider channel set sp-1 ali_pay --account-app-id 2021000000000100 \
                 --notify-url http://127.0.0.1:9000/provider/sp-1/callback/alipay",
                &sp_keys,
            ),
            "PUT",
            "/admin/providers/sp-1/channels/ali_pay",
            None,
            json!({"appId": "2021000000000100", "privateKey": "MIIEvQIBADANBgkqhkiG9w0B",
                "publicKey": "MIIBIjANBgkqhkiG9w0BAQEFAAOC",
                "notifyUrl": "http://127.0.0.1:9000/provider/sp-1/callback/alipay"}),
        ),
        (
            words("provider channel remove sp-1 ali_pay", &[]),
            "DELETE",
            "/admin/providers/sp-1/channels/ali_pay",
            None,
            Value::Null,
        ),
        // an app's accounts under the provider
        (
            words(
                "channel set ISV1 wechat_pay --mode provider --provider sp-1 \
                 --sub-mchid 1900000201 --sub-appid wx8888888888880201",
                &[],
            ),
            "PUT",
            "/admin/apps/ISV1/channels/wechat_pay",
            None,
            json!({"mode": "provider", "provider": "sp-1", "subMchid": "1900000201",
                "subAppid": "wx8888888888880201"}),
        ),
        (
            words(
                "channel set ISV1 wechat_pay --mode provider --provider sp-1 --sub-mchid 1900000201",
                &[],
            ),
            "PUT",
            "/admin/apps/ISV1/channels/wechat_pay",
            None,
            json!({"mode": "provider", "provider": "sp-1", "subMchid": "1900000201"}),
        ),
        (
            isv_alipay(&f, &["--auth-app-id", "2021000000000201"]),
            "PUT",
            "/admin/apps/ISV1/channels/ali_pay",
            None,
            with_app_id,
        ),
        (
            isv_alipay(&f, &[]),
            "PUT",
            "/admin/apps/ISV1/channels/ali_pay",
            None,
            authorised,
        ),
    ];
    sends(&mock, &cases);
}

#[test]
fn providers_and_accounts_under_them_show_no_key_or_token() {
    let mock = service();
    let o = run(&mock, &["admin", "provider", "show", "sp-1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    for line in [
        "providerId  sp-1\n",
        "name        服务商\n",
        "createdAt   2024-06-01 17:49:49 UTC\n",
        "updatedAt   2024-06-01 17:49:50 UTC\n",
        "CHANNEL     ACCOUNT\n",
        "wechat_pay  appid=wx8888888888880100 baseUrl=http://127.0.0.1:9200 mchid=1900000100 merchantSerial=5157F09E publicKeyId=PUB_KEY_ID_SP timeoutMs=8000\n",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let o = run(&mock, &["admin", "app", "show", "ISV1"]);
    let text = stdout(&o);
    for line in [
        "wechat_pay  provider  appid=wx8888888888880100 baseUrl=http://127.0.0.1:9200 mchid=1900000100 merchantSerial=5157F09E provider=sp-1 publicKeyId=PUB_KEY_ID_SP subAppid=wx8888888888880201 subMchid=1900000201 timeoutMs=8000",
        "ali_pay     provider  appAuth={\"authAppId\":\"2021000000000201\",\"expiresAt\":1800000000,\"refreshExpiresAt\":1810000000,\"userId\":\"2088000000000201\"} appId=2021000000000100",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    // what was sent is never printed back: the answer is the service's view
    let f = provider_files();
    for json in [&[][..], &["--json"]] {
        let args = [&["admin"][..], &isv_alipay(&f, json)].concat();
        let o = run(&mock, &args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let both = format!("{}{}", stdout(&o), stderr(&o));
        assert!(!both.contains("the-app-auth-token"), "{both}");
        assert!(!both.contains("the-refresh-token"), "{both}");
    }
    let o = run(
        &mock,
        &words("admin provider create --provider-id TAKEN", &[]),
    );
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("refused (HTTP 409 conflict): provider TAKEN exists"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn provider_flags_are_checked_before_anything_is_sent() {
    let mock = service();
    let f = provider_files();
    let wechat = "admin channel set ISV1 wechat_pay --mode provider";
    let no_token = |extra: &[&'static str]| {
        let mut args = words(
            "admin channel set ISV1 ali_pay --mode provider --provider sp-1 \
             --user-id 2088000000000201 --app-refresh-token-file",
            &[&f.refresh],
        );
        args.extend(extra);
        args
    };
    let isv = |extra| [&["admin"][..], &isv_alipay(&f, extra)].concat();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            words(wechat, &["--sub-mchid", "1"]),
            "wechat_pay --mode provider needs --provider",
        ),
        (
            words(wechat, &["--provider", "sp-1"]),
            "wechat_pay --mode provider needs --sub-mchid",
        ),
        (
            words(
                wechat,
                &[
                    "--provider",
                    "sp-1",
                    "--sub-mchid",
                    "1",
                    "--user-id",
                    "2088",
                ],
            ),
            "--user-id is not for wechat_pay",
        ),
        (
            words(
                wechat,
                &["--provider", "sp-1", "--sub-mchid", "1", "--mchid", "1900"],
            ),
            "--mchid is for a direct account, not --mode provider",
        ),
        (
            no_token(&[
                "--expires-at",
                "1800000000",
                "--refresh-expires-at",
                "1810000000",
            ]),
            "ali_pay --mode provider needs --app-auth-token-file",
        ),
        (
            [
                no_token(&["--refresh-expires-at", "1810000000"]),
                vec!["--app-auth-token-file", &f.token],
            ]
            .concat(),
            "ali_pay --mode provider needs --expires-at",
        ),
        (
            [
                no_token(&["--expires-at", "1", "--refresh-expires-at", "2"]),
                vec!["--app-auth-token-file", &f.empty],
            ]
            .concat(),
            "expected the token alone on one line",
        ),
        (isv(&["--sub-mchid", "1"]), "--sub-mchid is not for ali_pay"),
        (
            isv(&["--private-key-file", &f.private]),
            "--private-key-file is for a direct account",
        ),
        (no_token(&["--expires-at", "0"]), "--expires-at"),
        (no_token(&["--expires-at", "tomorrow"]), "--expires-at"),
        // a direct account given a provider's member
        (
            words(
                "admin channel set ISV1 wechat_pay --sub-mchid 1900000201",
                &[],
            ),
            "--sub-mchid is for an account under a provider: add --mode provider",
        ),
        (words(wechat, &["--mode", "isv"]), "--mode"),
        (
            words("admin provider create --name x", &[]),
            "--provider-id",
        ),
        // a provider's own account has no mode
        (
            words(
                "admin provider channel set sp-1 wechat_pay --mode provider",
                &[],
            ),
            "--mode",
        ),
        (words("admin provider channel remove sp-1", &[]), "CHANNEL"),
    ];
    for (args, text) in &cases {
        let o = run(&mock, args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(text), "{args:?}: {}", stderr(&o));
    }
    assert!(mock.hits().is_empty(), "nothing was sent");
}

#[test]
fn a_reconciliation_rerun_says_what_was_queued_or_why_not() {
    let mock = service();
    let rerun = |rest: &str| {
        let line = format!("admin reconcile run {rest}");
        run(&mock, &line.split(' ').collect::<Vec<_>>())
    };
    let o = rerun("--app A1 --channel wechat_pay --day 2026-12-01");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("queued: 2026-12-01 of wechat_pay for app A1 (reconcile)"),
        "{}",
        stdout(&o)
    );
    let o = rerun("--app OLD --channel wechat_pay --day 2026-12-01");
    assert_eq!(code(&o), 1, "a refusal");
    assert!(
        stderr(&o).contains("day: must be within the last 3 months"),
        "{}",
        stderr(&o)
    );
    let sent = mock.hits().len();
    for bad in [
        "--app A1 --day 2026-12-01",
        "--app A1 --channel union_pay --day 2026-12-01",
        "--channel wechat_pay --day 2026-12-01",
    ] {
        let o = rerun(bad);
        assert_eq!(code(&o), 2, "{bad}: {}", stderr(&o));
    }
    assert_eq!(mock.hits().len(), sent, "nothing sent for a usage error");
}
