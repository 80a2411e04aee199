//! DaxPay's pay and refund notices: any body is read or refused without a panic, and a notice
//! read without its signature checked is read the same once it is signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::daxpay::json::parse_object;
use shared::daxpay::pay_notice::parse_pay_notice;
use shared::daxpay::refund_notice::parse_refund_notice;
use shared::daxpay::sign::SignType;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let sign_type = if which & 0x80 == 0 { SignType::HmacSha256 } else { SignType::Md5 };
    let signer = fuzz::signer(sign_type);
    let resigned = || {
        let mut object = parse_object(body).ok()?;
        signer.sign_in_place(&mut object);
        Some(serde_json::Value::Object(object).to_string())
    };
    if which & 1 == 0 {
        if let Ok(order) = parse_pay_notice(body, |_| true) {
            let text = resigned().unwrap_or_default();
            let again = parse_pay_notice(text.as_bytes(), |m| signer.verify(m));
            assert_eq!(again.ok(), Some(order));
        } else {
            let _ = parse_pay_notice(body, |m| signer.verify(m));
        }
    } else if let Ok(refund) = parse_refund_notice(body, |_| true) {
        let text = resigned().unwrap_or_default();
        let again = parse_refund_notice(text.as_bytes(), |m| signer.verify(m));
        assert_eq!(again.ok(), Some(refund));
    } else {
        let _ = parse_refund_notice(body, |m| signer.verify(m));
    }
});
