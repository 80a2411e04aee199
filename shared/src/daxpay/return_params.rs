//! Parameters of the return endpoints (ours, SPEC §4.9): a return, and the query of one
//! return or of an order's returns.

use super::envelope::ValidationError;
use super::params::{AllocationRef, check_http_url};
use super::request::{Params, check_opt_len, check_required};
use crate::domain::money::Fen;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `POST /unipay/allocation/return` (ours, SPEC §4.9): take `amount` back from one receiver of
/// a split order. `bizReturnNo` is the merchant's idempotency key (same digest rule as start).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReturnParams {
    pub biz_return_no: String,
    #[serde(alias = "allocNo")]
    pub allocation_no: Option<String>,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: Option<String>,
    pub receiver_no: String,
    pub amount: Fen,
    pub description: Option<String>,
    pub notify_url: Option<String>,
    pub attach: Option<String>,
    /// Alipay: the merchant's refund (its bizRefundNo) that will carry this return's row.
    pub biz_refund_no: Option<String>,
}

impl Params for ReturnParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("bizReturnNo", &self.biz_return_no, 100)?;
        self.order().validate()?;
        check_required("receiverNo", &self.receiver_no, 32)?;
        // WeChat Pay's limit for a return's description
        check_opt_len("description", &self.description, 80)?;
        check_opt_len("notifyUrl", &self.notify_url, 200)?;
        if let Some(url) = self.notify_url.as_deref().filter(|u| !u.is_empty()) {
            check_http_url("notifyUrl", url)?;
        }
        check_opt_len("attach", &self.attach, 500)?;
        check_opt_len("bizRefundNo", &self.biz_refund_no, 100)?;
        Ok(())
    }
}

impl ReturnParams {
    pub fn order(&self) -> AllocationRef {
        AllocationRef {
            allocation_no: self.allocation_no.clone(),
            biz_allocation_no: self.biz_allocation_no.clone(),
        }
    }

    /// Hex SHA-256 of the business fields: a repeated bizReturnNo is the same return only when
    /// this matches.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// `POST /unipay/query/allocationReturn` (ours): one return by our number or the merchant's,
/// or every return of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReturnRef {
    pub return_no: Option<String>,
    pub biz_return_no: Option<String>,
    #[serde(alias = "allocNo")]
    pub allocation_no: Option<String>,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: Option<String>,
}

impl Params for ReturnRef {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("returnNo", &self.return_no, 32)?;
        check_opt_len("bizReturnNo", &self.biz_return_no, 100)?;
        check_opt_len("allocationNo", &self.allocation_no, 32)?;
        check_opt_len("bizAllocationNo", &self.biz_allocation_no, 100)?;
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        if !(given(&self.return_no)
            || given(&self.biz_return_no)
            || given(&self.allocation_no)
            || given(&self.biz_allocation_no))
        {
            return Err(ValidationError::new(
                "returnNo",
                "returnNo, bizReturnNo, allocationNo or bizAllocationNo is required",
            ));
        }
        Ok(())
    }
}
