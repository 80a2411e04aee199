//! DaxPay's two generations of field names (SPEC §2.1). Requests are written in the chosen one;
//! the service answers in the spelling of the request, and answers are read in either.

use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// Which names a request uses for the renamed members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spelling {
    /// DaxPay 2.0.7: `allocationNo`, `bizAllocationNo`, `outAllocationNo` (the seeds' names).
    #[default]
    V207,
    /// DaxPay 2.0.8: `allocNo`, `bizAllocNo`, `outAllocNo`.
    V208,
}

/// (2.0.7 name, 2.0.8 name) of every renamed member; the last is the service's own list of a
/// sync of many orders, spelt the same two ways.
pub const RENAMED: [(&str, &str); 4] = [
    ("allocationNo", "allocNo"),
    ("bizAllocationNo", "bizAllocNo"),
    ("outAllocationNo", "outAllocNo"),
    ("allocationNos", "allocNos"),
];

impl Spelling {
    /// Renames the top-level members of a request written with 2.0.7 names.
    pub fn respell(self, object: &mut Map<String, Value>) {
        if self == Spelling::V207 {
            return;
        }
        for (old, new) in RENAMED {
            if let Some(v) = object.remove(old) {
                object.insert(new.to_owned(), v);
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Spelling::V207 => "2.0.7",
            Spelling::V208 => "2.0.8",
        }
    }
}

impl FromStr for Spelling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "2.0.7" => Ok(Spelling::V207),
            "2.0.8" => Ok(Spelling::V208),
            other => Err(format!(
                "unknown spelling `{other}` (expected 2.0.7 or 2.0.8)"
            )),
        }
    }
}

impl fmt::Display for Spelling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
