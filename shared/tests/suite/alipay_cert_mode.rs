//! Alipay certificate mode against TEST-ONLY certificates whose SNs were computed by an
//! independent implementation (pyca/cryptography, `tests/fixtures/alipay-cert/make_vectors.py`).

use serde_json::Value;
use shared::channel::alipay::cert::{CertError, cert_mode, pem_cert_sn, root_cert_sn};
use shared::infra::crypto::RsaSigner;

const APP_CERT: &str = include_str!("../fixtures/alipay-cert/app-cert.TEST-ONLY.pem");
const ALIPAY_CERT: &str = include_str!("../fixtures/alipay-cert/alipay-cert.TEST-ONLY.pem");
const ROOT_BUNDLE: &str = include_str!("../fixtures/alipay-cert/root-bundle.TEST-ONLY.pem");
const ALIPAY_PRIVATE: &str = include_str!("../fixtures/alipay-cert/alipay-private.TEST-ONLY.pem");
const EXPECTED: &str = include_str!("../fixtures/alipay-cert/expected.json");

fn expected(key: &str) -> String {
    let v: Value = serde_json::from_str(EXPECTED).unwrap_or(Value::Null);
    v[key].as_str().unwrap_or_default().to_owned()
}

#[test]
fn sns_match_the_independent_vectors() {
    let (sns, _) = match cert_mode(APP_CERT, ALIPAY_CERT, ROOT_BUNDLE) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(sns.app_cert_sn, expected("appCertSn"));
    assert_eq!(sns.alipay_cert_sn, expected("alipayCertSn"));
    // two RSA roots; the EC root between them is left out
    assert_eq!(sns.root_cert_sn, expected("alipayRootCertSn"));
    assert_eq!(sns.root_cert_sn.split('_').count(), 2);
}

#[test]
fn alipays_key_comes_from_its_certificate() {
    let (_, key) = match cert_mode(APP_CERT, ALIPAY_CERT, ROOT_BUNDLE) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let signer = match RsaSigner::from_pkcs8_base64("test", ALIPAY_PRIVATE) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let sig = signer.sign_base64(b"node").unwrap_or_default();
    assert!(key.verify_base64(b"node", &sig));
    assert!(!key.verify_base64(b"nodE", &sig));
}

#[test]
fn unusable_certificates_are_refused_with_the_setting_named() {
    assert_eq!(
        pem_cert_sn("alipayAppCert", "not a certificate"),
        Err(CertError::Missing("alipayAppCert"))
    );
    let garbled = APP_CERT.replacen("MII", "MIJ", 1);
    assert_eq!(
        pem_cert_sn("alipayAppCert", &garbled),
        Err(CertError::Unreadable("alipayAppCert"))
    );
    // only the EC root: nothing to build the root SN from
    let ec_only: String = ROOT_BUNDLE
        .split_inclusive("-----END CERTIFICATE-----\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        root_cert_sn(&ec_only),
        Err(CertError::NoRsaRoot("alipayRootCert"))
    );
    let e = cert_mode(APP_CERT, ALIPAY_CERT, "").map(|_| ());
    assert_eq!(e, Err(CertError::Missing("alipayRootCert")));
}

use crate::common::harness::Harness;
use serde_json::json;
use std::time::Duration;

const START: &str = "/unipay/allocation/start";
const FINISH: &str = "/unipay/allocation/finish";

/// Receivers bound, a split, the settlement, the sync and the finish, all in certificate mode:
/// the simulator refuses any request without the right `app_cert_sn` / `alipay_root_cert_sn`.
#[tokio::test]
async fn allocation_end_to_end_in_certificate_mode() {
    let h = Harness::alipay_cert_mode(Duration::from_secs(5), None).await;
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    assert!(h.bound(t1, a1));
    let trade = h.paid("P1", 10000).await;
    let d = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]}),
        )
        .await;
    assert_eq!(d["status"], "allocation_processing");
    let no = d["allocationNo"].as_str().unwrap_or_default().to_owned();
    assert_eq!(h.executed(&trade), 1);
    h.settle(&trade, &no, &[]).await;
    let synced = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(
        (synced["status"].clone(), synced["result"].clone()),
        (json!("allocation_end"), json!("all_success"))
    );
    let finished = h.ok(FINISH, json!({"allocationNo": no})).await;
    assert_eq!(finished["status"], "finish", "{finished}");
}

/// Alipay rotated its certificate: answers name another SN. They are not acted on: an unknown
/// outcome, never taken for success or failure.
#[tokio::test]
async fn answers_signed_under_another_certificate_are_not_acted_on() {
    let h = Harness::alipay_cert_mode(
        Duration::from_secs(5),
        Some("0123456789abcdef0123456789abcdef"),
    )
    .await;
    let [(t1, a1), _] = h.accounts();
    // binding the receiver at the channel is refused as unverified
    let msg = h
        .refused(
            "/unipay/allocation/receiver/add",
            json!({"receiverNo": "r1", "channel": "ali_pay", "receiverType": t1, "receiverAccount": a1,
                "receiverName": "张三", "relationType": "PARTNER"}),
        )
        .await;
    assert!(msg.contains("通道暂时不可用"), "{msg}");
    assert!(
        h.bound(t1, a1),
        "the channel did bind; we just could not trust its answer"
    );
}

/// Certificate settings given in part, or together with a public key, stop init naming the
/// setting; the three together select certificate mode.
#[test]
fn certificate_settings_are_all_or_nothing() {
    let config = shared::infra::config::Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("t-cert".into()),
        "SIGN_SECRET" => Some("s".into()),
        "ALIPAY_APP_ID" => Some("2021000000000001".into()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let secrets =
        |app: bool, alipay: bool, root: bool, public: bool| shared::infra::config::Secrets {
            sign_secret: shared::daxpay::sign::Secret::new("s"),
            alipay_private_key: Some(
                include_str!("../fixtures/alipay-cert/app-private.TEST-ONLY.pem").to_owned(),
            ),
            alipay_public_key: public.then(|| {
                include_str!("../fixtures/alipay-cert/app-public.TEST-ONLY.pem").to_owned()
            }),
            alipay_app_cert: app.then(|| APP_CERT.to_owned()),
            alipay_cert: alipay.then(|| ALIPAY_CERT.to_owned()),
            alipay_root_cert: root.then(|| ROOT_BUNDLE.to_owned()),
            wechat_private_key: None,
            wechat_public_key: None,
            wechat_apiv3_key: None,
            alipay_app_auth_token: None,
        };
    let setting = |s| {
        shared::app::channels_from(&config, &s)
            .err()
            .map(|e| e.setting)
    };
    assert_eq!(
        setting(secrets(true, false, true, false)),
        Some("ALIPAY_CERT")
    );
    assert_eq!(
        setting(secrets(true, true, false, false)),
        Some("ALIPAY_ROOT_CERT")
    );
    assert_eq!(
        setting(secrets(true, true, true, true)),
        Some("ALIPAY_PUBLIC_KEY")
    );
    assert_eq!(
        setting(secrets(false, false, false, false)),
        Some("ALIPAY_PUBLIC_KEY")
    );
    assert_eq!(setting(secrets(true, true, true, false)), None);
    assert_eq!(setting(secrets(false, false, false, true)), None);
}
