//! Work due later on an item (SPEC §5): found by the scheduler through the sparse `due` index.

/// Kinds of due work, one partition of the `due` index each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueKind {
    Sync,
    Finish,
    AutoAllocate,
    Notify,
    /// A return still processing at the channel (SPEC §4.9).
    ReturnSync,
    /// A frozen pay order nearing the channel's freeze deadline (SPEC §4.11).
    Deadline,
    /// A merchant's Alipay authorisation (`app_auth_token`) nearing its expiry (SPEC §6.5).
    AppAuthRefresh,
    /// An app's next day of reconciliation with a channel's bill (SPEC §4.13).
    Reconcile,
}

impl DueKind {
    pub const ALL: [DueKind; 8] = [
        Self::Sync,
        Self::Finish,
        Self::AutoAllocate,
        Self::Notify,
        Self::ReturnSync,
        Self::Deadline,
        Self::AppAuthRefresh,
        Self::Reconcile,
    ];

    /// The `duePk` value.
    pub fn partition(self) -> &'static str {
        match self {
            Self::Sync => "DUE#sync",
            Self::Finish => "DUE#finish",
            Self::AutoAllocate => "DUE#auto_allocate",
            Self::Notify => "DUE#notify",
            Self::ReturnSync => "DUE#return_sync",
            Self::Deadline => "DUE#deadline",
            Self::AppAuthRefresh => "DUE#app_auth_refresh",
            Self::Reconcile => "DUE#reconcile",
        }
    }

    pub fn from_partition(p: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.partition() == p)
    }
}

/// Work of some kind due at an instant (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub kind: DueKind,
    pub at: i64,
}
