//! Signing what we send: any JSON object, signed with either sign type and written out as JSON
//! text, verifies when that text is read back (as a merchant's SDK reads our answers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::daxpay::json::{Arena, parse_object, parse_tree};
use shared::daxpay::sign::SignType;

fuzz_target!(|data: &[u8]| {
    let Ok(object) = parse_object(data) else {
        return;
    };
    for sign_type in [SignType::HmacSha256, SignType::Md5] {
        let signer = fuzz::signer(sign_type);
        let mut signed = object.clone();
        signer.sign_in_place(&mut signed);
        assert!(signer.verify(&signed));
        let text = serde_json::Value::Object(signed).to_string();
        let arena = Arena::for_body(text.len());
        let read = parse_tree(text.as_bytes(), &arena);
        let Ok(read) = read else {
            panic!("our own JSON text does not parse: {read:?}");
        };
        assert!(signer.verify(&read), "{text}");
    }
});
