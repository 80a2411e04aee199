//! Merchant request verification for every endpoint's parameters: any body is answered with a
//! value or an error, and a body accepted without a signature is accepted once it is signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::daxpay::json::parse_object;
use shared::daxpay::ops_params::{FlaggedParams, OrderListParams, SyncManyParams};
use shared::daxpay::params::{AllocationRef, NoticeResendParams, QueryPayOrderParams, StartParams};
use shared::daxpay::receiver_params::{
    GroupBindParams, GroupRef, GroupSaveParams, GroupUnbindParams, QueryGroupParams,
    QueryReceiverParams, ReceiverAddParams, ReceiverRemoveParams,
};
use shared::daxpay::request::Params;
use shared::daxpay::return_params::{ReturnParams, ReturnRef};

fn check<T: Params>(body: &[u8]) {
    let unsigned = fuzz::verifier(false);
    if unsigned.verify::<T>(body, fuzz::NOW).is_err() {
        let _ = fuzz::verifier(true).verify::<T>(body, fuzz::NOW);
        return;
    }
    // accepted: signed the merchant's way, it verifies
    let Ok(mut object) = parse_object(body) else {
        panic!("a body the verifier accepted is not an object");
    };
    let signed = fuzz::verifier(true);
    signed.signer.sign_in_place(&mut object);
    let text = serde_json::Value::Object(object).to_string();
    let again = signed.verify::<T>(text.as_bytes(), fuzz::NOW);
    assert!(again.is_ok(), "signed, it was refused: {:?}", again.err());
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 17 {
        0 => {
            check::<StartParams>(body);
            if let Ok(v) = fuzz::verifier(false).verify::<StartParams>(body, fuzz::NOW) {
                let digest = v.params.digest();
                assert!(digest.starts_with("2:") && digest.len() == 66, "{digest}");
                assert!(v.params.matches_digest(&digest, &digest));
            }
        }
        1 => check::<AllocationRef>(body),
        2 => check::<NoticeResendParams>(body),
        3 => check::<QueryPayOrderParams>(body),
        4 => check::<ReceiverAddParams>(body),
        5 => check::<ReceiverRemoveParams>(body),
        6 => check::<QueryReceiverParams>(body),
        7 => check::<GroupSaveParams>(body),
        8 => check::<GroupRef>(body),
        9 => check::<GroupBindParams>(body),
        10 => check::<GroupUnbindParams>(body),
        11 => check::<QueryGroupParams>(body),
        12 => check::<ReturnParams>(body),
        13 => check::<ReturnRef>(body),
        14 => check::<FlaggedParams>(body),
        15 => check::<SyncManyParams>(body),
        _ => check::<OrderListParams>(body),
    }
});
