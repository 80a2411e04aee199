//! Reading an answer (SPEC §2.3): `{code, msg, data, traceId}`. An accepted or refused request
//! has a signed `data`, which must verify before anything in it is believed (as DaxPay's SDK
//! refuses an answer whose signature fails); a request that could not be verified has a code
//! and no data, so nothing to verify.

use crate::error::{Error, SYSTEM_ERROR};
use alloc_protocol::{Signer, json};
use serde_json::{Map, Value};

/// The verified `data` of an accepted request (`data.code = 0`), and the trace id.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub data: Map<String, Value>,
    pub trace_id: String,
}

/// Reads and verifies an answer body received with HTTP 200.
pub(crate) fn read(body: &[u8], signer: &Signer) -> Result<Accepted, Error> {
    // Strict: a member named twice could make the signed text differ from what is read.
    let envelope = json::parse_object(body)
        .map_err(|e| Error::Malformed(format!("not an answer envelope: {e}")))?;
    let trace_id = text(&envelope, "traceId");
    let code = integer(&envelope, "code")
        .ok_or_else(|| Error::Malformed("the envelope has no integer `code`".into()))?;
    if code != 0 {
        let msg = text(&envelope, "msg");
        return Err(if code == SYSTEM_ERROR {
            Error::Service {
                code,
                msg,
                trace_id,
            }
        } else {
            Error::Rejected {
                code,
                msg,
                trace_id,
            }
        });
    }
    let data = match envelope.get("data") {
        Some(Value::Object(data)) => data.clone(),
        _ => {
            return Err(Error::Malformed(
                "an accepted answer without a `data` object".into(),
            ));
        }
    };
    if !signer.verify(&data) {
        return Err(Error::BadSignature { trace_id });
    }
    match integer(&data, "code") {
        Some(0) => Ok(Accepted { data, trace_id }),
        Some(_) => Err(Error::Refused {
            msg: text(&data, "msg"),
            trace_id,
        }),
        None => Err(Error::Malformed("`data` has no integer `code`".into())),
    }
}

/// Verifies a notice the service POSTed to a merchant's `notifyUrl` (an allocation's or a
/// return's status), and gives its members. Answer the service `SUCCESS` only once this passed.
pub fn verify_notice(body: &[u8], signer: &Signer) -> Result<Map<String, Value>, Error> {
    let notice =
        json::parse_object(body).map_err(|e| Error::Malformed(format!("not a notice: {e}")))?;
    if signer.verify(&notice) {
        Ok(notice)
    } else {
        Err(Error::BadSignature {
            trace_id: String::new(),
        })
    }
}

fn integer(object: &Map<String, Value>, key: &str) -> Option<i64> {
    object.get(key).and_then(Value::as_i64)
}

fn text(object: &Map<String, Value>, key: &str) -> String {
    match object.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc_protocol::{Secret, SignType};
    use serde_json::json;

    fn signer() -> Signer {
        Signer::new(SignType::HmacSha256, Secret::new("123456"))
    }

    /// Seed 001's success answer, verbatim.
    const SEED_001_OK: &str = r#"{"msg":"success","code":0,"data":{"allocationNo":"DEVA24060201494863000002","bizAllocationNo":"A60434","status":"allocation_processing","code":0,"resTime":1717264189,"sign":"a29b68e5d89ec6c7f2985a2680bd22b40cbffd79b4e0d8d0ec331e9b6337e1b1"},"traceId":"inOL4mbRjzLa"}"#;
    /// Seed 001's refusal, verbatim.
    const SEED_001_REFUSED: &str = r#"{"msg":"success","code":0,"data":{"code":1,"msg":"该订单已分账完成","resTime":1717261697,"sign":"bd3fef1a43a017edf57359035a3f8fce2dbd3c32f5bfb43360e9ef3d913c6413"},"traceId":"rkq7V4y04zG2"}"#;

    #[test]
    fn the_seeds_answers_verify() {
        let ok = read(SEED_001_OK.as_bytes(), &signer());
        let ok = ok.map(|a| (a.data["allocationNo"].clone(), a.trace_id));
        assert_eq!(
            ok,
            Ok((json!("DEVA24060201494863000002"), "inOL4mbRjzLa".into()))
        );
        assert_eq!(
            read(SEED_001_REFUSED.as_bytes(), &signer()).map(|a| a.data),
            Err(Error::Refused {
                msg: "该订单已分账完成".into(),
                trace_id: "rkq7V4y04zG2".into()
            })
        );
    }

    #[test]
    fn a_tampered_answer_is_refused() {
        // the status changed after signing
        let tampered = SEED_001_OK.replace("allocation_processing", "finish");
        assert_eq!(
            read(tampered.as_bytes(), &signer()).map(|a| a.data),
            Err(Error::BadSignature {
                trace_id: "inOL4mbRjzLa".into()
            })
        );
        // a member added after signing
        let added =
            SEED_001_OK.replace(r#""code":0,"resTime""#, r#""code":0,"amount":1,"resTime""#);
        assert!(matches!(
            read(added.as_bytes(), &signer()),
            Err(Error::BadSignature { .. })
        ));
        // a refusal turned into a success
        let flipped = SEED_001_REFUSED.replace(r#""code":1"#, r#""code":0"#);
        assert!(matches!(
            read(flipped.as_bytes(), &signer()),
            Err(Error::BadSignature { .. })
        ));
        // the right answer under another secret
        let other = Signer::new(SignType::HmacSha256, Secret::new("654321"));
        assert!(matches!(
            read(SEED_001_OK.as_bytes(), &other),
            Err(Error::BadSignature { .. })
        ));
        // unsigned
        let unsigned = r#"{"code":0,"msg":"success","data":{"code":0,"resTime":1},"traceId":"t"}"#;
        assert!(matches!(
            read(unsigned.as_bytes(), &signer()),
            Err(Error::BadSignature { .. })
        ));
    }

    #[test]
    fn envelope_codes_are_rejections_or_service_failures() {
        let bad_sign = r#"{"code":20052,"msg":"验签失败","data":null,"traceId":"t1"}"#;
        assert_eq!(
            read(bad_sign.as_bytes(), &signer()).map(|a| a.data),
            Err(Error::Rejected {
                code: 20052,
                msg: "验签失败".into(),
                trace_id: "t1".into()
            })
        );
        let system = r#"{"code":10001,"msg":"系统错误","data":null,"traceId":"t2"}"#;
        let e = read(system.as_bytes(), &signer()).map(|a| a.data);
        assert!(matches!(&e, Err(Error::Service { code: 10001, .. })));
        assert!(e.is_err_and(|e| e.is_retryable()));
    }

    #[test]
    fn malformed_answers() {
        for body in [
            "<html>502</html>",
            r#"{"code":"0","data":{}}"#,
            r#"{"code":0,"data":null}"#,
            r#"{"code":0,"code":0,"data":{}}"#,
        ] {
            assert!(
                matches!(read(body.as_bytes(), &signer()), Err(Error::Malformed(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn notices_verify() {
        let mut notice = json!({"allocationNo": "A1", "status": "finish", "code": 0, "resTime": 5});
        if let Value::Object(m) = &mut notice {
            signer().sign_in_place(m);
        }
        let body = notice.to_string();
        assert!(verify_notice(body.as_bytes(), &signer()).is_ok());
        let tampered = body.replace("finish", "allocation_end");
        assert!(verify_notice(tampered.as_bytes(), &signer()).is_err());
    }
}
