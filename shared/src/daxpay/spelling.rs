//! The two generations of DaxPay's allocation field names (SPEC §2.1). DaxPay 2.0.7 (and the
//! seeds) say `allocationNo`, `bizAllocationNo`, `outAllocationNo`; 2.0.8 renamed them
//! `allocNo`, `bizAllocNo`, `outAllocNo`. Each SDK deserialises answers into models that carry
//! only its own names, so we answer in the spelling the request used.

use serde_json::{Map, Value};

/// A generation of field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Spelling {
    /// `allocationNo`, `bizAllocationNo`, `outAllocationNo` (DaxPay 2.0.7, the seeds).
    #[default]
    V207,
    /// `allocNo`, `bizAllocNo`, `outAllocNo` (DaxPay 2.0.8).
    V208,
}

/// (2.0.7 name, 2.0.8 name) of every renamed member.
const RENAMED: [(&str, &str); 3] = [
    ("allocationNo", "allocNo"),
    ("bizAllocationNo", "bizAllocNo"),
    ("outAllocationNo", "outAllocNo"),
];

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

    /// The spelling of a request: 2.0.8 when it names any member the 2.0.8 way.
    pub fn of_request(members: &Map<String, Value>) -> Self {
        if RENAMED.iter().any(|(_, new)| members.contains_key(*new)) {
            Self::V208
        } else {
            Self::V207
        }
    }

    /// Renames the top-level members of an answer (built with 2.0.7 names) to this spelling.
    pub fn respell(self, data: &mut Map<String, Value>) {
        if self == Self::V207 {
            return;
        }
        for (old, new) in RENAMED {
            if let Some(v) = data.remove(old) {
                data.insert(new.to_owned(), v);
            }
        }
    }
}

impl std::fmt::Display for Spelling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_request_speaks_2_0_8_when_it_uses_any_new_name() {
        assert_eq!(
            Spelling::of_request(&map(json!({"allocationNo": "A"}))),
            Spelling::V207
        );
        assert_eq!(
            Spelling::of_request(&map(json!({"bizAllocNo": "A"}))),
            Spelling::V208
        );
        assert_eq!(
            Spelling::of_request(&map(json!({"allocNo": "A"}))),
            Spelling::V208
        );
        assert_eq!(
            Spelling::of_request(&map(json!({"orderNo": "P"}))),
            Spelling::V207
        );
    }

    #[test]
    fn respelling_renames_only_the_three_members() {
        let mut d = map(json!({"allocationNo": "A", "bizAllocationNo": "B",
            "outAllocationNo": "C", "orderNo": "P"}));
        Spelling::V208.respell(&mut d);
        assert_eq!(
            Value::Object(d),
            json!({"allocNo": "A", "bizAllocNo": "B", "outAllocNo": "C", "orderNo": "P"})
        );
        let mut d = map(json!({"allocationNo": "A"}));
        Spelling::V207.respell(&mut d);
        assert_eq!(Value::Object(d), json!({"allocationNo": "A"}));
        assert_eq!(Spelling::from_code("2.0.8"), Some(Spelling::V208));
        assert_eq!(Spelling::from_code("2.1"), None);
    }
}
