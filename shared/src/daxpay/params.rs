//! Business parameters of every merchant endpoint (SPEC §2), with their lengths and ranges.
//! Both field spellings are accepted (`allocationNo`/`allocNo`, ...); giving both is refused.
//! Common members (`clientIp`, `nonceStr`, `sign`, `reqTime`) are checked in [`super::request`].
//! A start's are in [`super::start_params`], receivers' and groups' in
//! [`super::receiver_params`].

use super::envelope::ValidationError;
use super::request::{Params, check_opt_len};
use serde::Deserialize;

pub use super::start_params::{ReceiverAmount, Receivers, StartParams};

/// An allocation order named by our number or the merchant's: finish (seed 002), sync (seed
/// 000), the order and notice queries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllocationRef {
    #[serde(alias = "allocNo")]
    pub allocation_no: Option<String>,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: Option<String>,
}

impl Params for AllocationRef {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("allocationNo", &self.allocation_no, 32)?;
        check_opt_len("bizAllocationNo", &self.biz_allocation_no, 100)?;
        if self.allocation_no.as_deref().is_none_or(str::is_empty)
            && self.biz_allocation_no.as_deref().is_none_or(str::is_empty)
        {
            return Err(ValidationError::new(
                "allocationNo",
                "分账号与商户分账号不可以同时为空 (allocationNo or bizAllocationNo is required)",
            ));
        }
        Ok(())
    }
}

/// `POST /unipay/allocation/notice/resend`: the order, and which of its notices (default:
/// the notice of its current status).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NoticeResendParams {
    #[serde(alias = "allocNo")]
    pub allocation_no: Option<String>,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: Option<String>,
    pub status: Option<crate::domain::AllocationStatus>,
}

impl NoticeResendParams {
    pub fn order(&self) -> AllocationRef {
        AllocationRef {
            allocation_no: self.allocation_no.clone(),
            biz_allocation_no: self.biz_allocation_no.clone(),
        }
    }
}

impl Params for NoticeResendParams {
    fn validate(&self) -> Result<(), ValidationError> {
        self.order().validate()
    }
}

/// `POST /unipay/query/payOrder`: a pay order as the feed stored it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryPayOrderParams {
    pub order_no: Option<String>,
    pub biz_order_no: Option<String>,
}

impl Params for QueryPayOrderParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("orderNo", &self.order_no, 32)?;
        check_opt_len("bizOrderNo", &self.biz_order_no, 100)?;
        if self.order_no.as_deref().is_none_or(str::is_empty)
            && self.biz_order_no.as_deref().is_none_or(str::is_empty)
        {
            return Err(ValidationError::new(
                "orderNo",
                "orderNo or bizOrderNo is required",
            ));
        }
        Ok(())
    }
}

/// Only absolute `http`/`https` URLs with a host. (Address checks happen when sending.)
pub fn check_http_url(field: &str, url: &str) -> Result<(), ValidationError> {
    crate::domain::notice::check_http_url(url).map_err(|rule| ValidationError::new(field, rule))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::daxpay::request::Verifier;
    use crate::daxpay::sign::{Secret, SignType, Signer};
    use serde_json::{Value, json};

    pub(crate) const NOW: i64 = 1_719_475_200;

    pub(crate) fn verifier() -> Verifier {
        Verifier {
            signer: Signer::new(SignType::HmacSha256, Secret::new("123456")),
            require_sign: true,
            req_timeout_secs: 300,
            previous: None,
        }
    }

    pub(crate) fn signed(mut v: Value) -> Vec<u8> {
        if let Value::Object(m) = &mut v {
            verifier().signer.sign_in_place(m);
        }
        v.to_string().into_bytes()
    }

    pub(crate) fn error_of<T: Params + std::fmt::Debug>(v: Value) -> String {
        match verifier().verify::<T>(&signed(v), NOW) {
            Ok(ok) => format!("accepted: {:?}", ok.params),
            Err(e) => format!("{} {}", e.code(), e),
        }
    }

    #[test]
    fn refs_need_one_number() {
        assert!(
            error_of::<AllocationRef>(json!({"reqTime": NOW}))
                .contains("allocationNo: 分账号与商户分账号不可以同时为空")
        );
        assert!(
            error_of::<AllocationRef>(json!({"allocNo": "A1", "reqTime": NOW}))
                .starts_with("accepted")
        );
    }
}
