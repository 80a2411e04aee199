//! The domain: the rules and types of allocation, pure (no AWS, no HTTP, no wire format). The
//! bands above decide when; these functions decide what.

pub mod account;
pub mod allocation;
pub mod bill_day;
pub mod codes;
pub mod due;
pub mod lifecycle;
pub mod money;
pub mod notice;
pub mod numbers;
pub mod pay_order;
pub mod plan;
pub mod receivers;
pub mod refund;
pub mod refusal;
pub mod returns;
pub mod share;
pub mod spelling;
pub mod statement;
pub mod tenant;

pub use account::{Account, mask_account};
pub use allocation::{Allocation, AllocationDetail, AllocationOrder};
pub use bill_day::BillDay;
pub use codes::{
    AllocationResult, AllocationStatus, Channel, DetailResult, PayStatus, ReceiverType,
    RefundStatus, RelationType, ReturnStatus, StatementStatus,
};
pub use due::{Due, DueKind};
pub use notice::{Notice, NoticeAttempt, Schedule, Topic};
pub use pay_order::PayOrder;
pub use receivers::{BindState, Group, GroupMember, Receiver};
pub use refund::{Refund, RefundChange};
pub use refusal::Refusal;
pub use returns::{ReturnAnswer, ReturnOrder, ReturnRefusal, ReturnState, Returned};
pub use share::{Accepted, ChannelError, ChannelNotice, Relation, Share, ShareResult, ShareState};
pub use spelling::Spelling;
pub use statement::{DiscrepancyRecord, StatementRecord, Totals};
pub use tenant::{AppId, MchNo, Tenant, TenantStatus};

/// How many times a read-decide-write that lost a race (its condition failed) is tried again
/// with a fresh read before it gives up.
pub const RACES: usize = 8;
