//! Every merchant endpoint of the service (its route table) and whether a call of it may be sent
//! again after an outcome that is not known (a timeout, a 5xx, a system error).
//!
//! Only calls that SPEC makes idempotent are retried: the queries; a start, whose repeat with
//! the same `bizAllocationNo` and the same business fields answers the stored order and calls
//! nothing (§4.2 step 2); a return, whose `bizReturnNo` is an idempotency key with the same
//! rule (§4.9); a sync, "idempotent and safe to race" (§4.5), and a sync of many, which only
//! queues such syncs. Everything else changes something a repeat would change again or
//! refuse (finish, notice resend, receiver and group changes) and is sent once.

/// One endpoint: its path and whether it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// A short name for messages (`start`, `query order`, ...).
    pub name: &'static str,
    pub path: &'static str,
    /// A repeat is safe: the call may be sent again when its outcome is unknown.
    pub idempotent: bool,
}

const fn once(name: &'static str, path: &'static str) -> Endpoint {
    Endpoint {
        name,
        path,
        idempotent: false,
    }
}

const fn idempotent(name: &'static str, path: &'static str) -> Endpoint {
    Endpoint {
        name,
        path,
        idempotent: true,
    }
}

pub const START: Endpoint = idempotent("start", "/unipay/allocation/start");
pub const FINISH: Endpoint = once("finish", "/unipay/allocation/finish");
pub const SYNC: Endpoint = idempotent("sync", "/unipay/sync/allocation");
pub const SYNC_MANY: Endpoint = idempotent("sync many", "/unipay/sync/allocations");
pub const QUERY_ORDER: Endpoint = idempotent("query order", "/unipay/query/allocationOrder");
pub const QUERY_NOTICES: Endpoint = idempotent("query notices", "/unipay/query/allocationNotice");
pub const RESEND_NOTICE: Endpoint = once("resend notice", "/unipay/allocation/notice/resend");
pub const QUERY_PAY_ORDER: Endpoint = idempotent("query pay order", "/unipay/query/payOrder");
pub const FLAGGED: Endpoint = idempotent("flagged orders", "/unipay/query/flaggedAllocations");
pub const LIST_ORDERS: Endpoint = idempotent("list orders", "/unipay/query/allocationOrders");
pub const STATEMENTS: Endpoint =
    idempotent("reconcile statements", "/unipay/query/reconcileStatement");
pub const DISCREPANCIES: Endpoint = idempotent(
    "reconcile discrepancies",
    "/unipay/query/reconcileDiscrepancies",
);
pub const RETURN: Endpoint = idempotent("return", "/unipay/allocation/return");
pub const QUERY_RETURN: Endpoint = idempotent("query return", "/unipay/query/allocationReturn");
pub const ALLOCATABLE: Endpoint = idempotent("allocatable", "/unipay/query/allocatable");
pub const RECEIVER_ADD: Endpoint = once("add receiver", "/unipay/allocation/receiver/add");
pub const RECEIVER_REMOVE: Endpoint = once("remove receiver", "/unipay/allocation/receiver/remove");
pub const QUERY_RECEIVERS: Endpoint =
    idempotent("query receivers", "/unipay/query/allocationReceiver");
pub const GROUP_CREATE: Endpoint = once("create group", "/unipay/allocation/group/create");
pub const GROUP_UPDATE: Endpoint = once("update group", "/unipay/allocation/group/update");
pub const GROUP_DELETE: Endpoint = once("delete group", "/unipay/allocation/group/delete");
pub const GROUP_BIND: Endpoint = once("bind receivers", "/unipay/allocation/group/bind");
pub const GROUP_UNBIND: Endpoint = once("unbind receivers", "/unipay/allocation/group/unbind");
pub const GROUP_SET_DEFAULT: Endpoint =
    once("set default group", "/unipay/allocation/group/setDefault");
pub const GROUP_CLEAR_DEFAULT: Endpoint = once(
    "clear default group",
    "/unipay/allocation/group/clearDefault",
);
pub const QUERY_GROUPS: Endpoint = idempotent("query groups", "/unipay/allocation/group/query");

/// Every merchant endpoint, in the order of the service's route table.
pub const ALL: [Endpoint; 26] = [
    START,
    FINISH,
    SYNC,
    QUERY_ORDER,
    QUERY_NOTICES,
    RESEND_NOTICE,
    QUERY_PAY_ORDER,
    FLAGGED,
    LIST_ORDERS,
    STATEMENTS,
    DISCREPANCIES,
    SYNC_MANY,
    RETURN,
    QUERY_RETURN,
    ALLOCATABLE,
    RECEIVER_ADD,
    RECEIVER_REMOVE,
    QUERY_RECEIVERS,
    GROUP_CREATE,
    GROUP_UPDATE,
    GROUP_DELETE,
    GROUP_BIND,
    GROUP_UNBIND,
    GROUP_SET_DEFAULT,
    GROUP_CLEAR_DEFAULT,
    QUERY_GROUPS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_spec_makes_idempotent_are_retried() {
        let retried: Vec<&str> = ALL
            .iter()
            .filter(|e| e.idempotent)
            .map(|e| e.name)
            .collect();
        assert_eq!(
            retried,
            [
                "start",
                "sync",
                "query order",
                "query notices",
                "query pay order",
                "flagged orders",
                "list orders",
                "reconcile statements",
                "reconcile discrepancies",
                "sync many",
                "return",
                "query return",
                "allocatable",
                "query receivers",
                "query groups"
            ]
        );
        for never in [
            FINISH,
            RESEND_NOTICE,
            RECEIVER_ADD,
            RECEIVER_REMOVE,
            GROUP_CREATE,
            GROUP_UPDATE,
            GROUP_DELETE,
            GROUP_BIND,
            GROUP_UNBIND,
            GROUP_SET_DEFAULT,
            GROUP_CLEAR_DEFAULT,
        ] {
            assert!(!never.idempotent, "{} must be sent once", never.name);
        }
    }

    #[test]
    fn paths_are_distinct_merchant_paths() {
        let mut paths: Vec<String> = ALL.iter().map(|e| e.path.to_ascii_lowercase()).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), ALL.len());
        assert!(ALL.iter().all(|e| e.path.starts_with("/unipay/")));
    }
}
