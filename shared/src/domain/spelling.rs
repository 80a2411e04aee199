//! The two generations of DaxPay's allocation field names (SPEC §2.1): DaxPay 2.0.7 (and the
//! seeds) say `allocationNo`, `bizAllocationNo`, `outAllocationNo`; 2.0.8 renamed them
//! `allocNo`, `bizAllocNo`, `outAllocNo`. An order remembers the generation of the start that
//! made it, for its notices.

/// A generation of field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Spelling {
    /// `allocationNo`, `bizAllocationNo`, `outAllocationNo` (DaxPay 2.0.7, the seeds).
    #[default]
    V207,
    /// `allocNo`, `bizAllocNo`, `outAllocNo` (DaxPay 2.0.8).
    V208,
}

impl Spelling {
    pub const ALL: [Spelling; 2] = [Self::V207, Self::V208];

    /// The SDK version whose names these are: `2.0.7` or `2.0.8`.
    pub fn code(self) -> &'static str {
        match self {
            Self::V207 => "2.0.7",
            Self::V208 => "2.0.8",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl std::fmt::Display for Spelling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
