//! Answering in the merchant's generation of field names (SPEC §2.1): each SDK deserialises
//! answers into models that carry only its own names, so an answer uses the names its request
//! used.

pub use crate::domain::Spelling;
use serde_json::{Map, Value};

/// (2.0.7 name, 2.0.8 name) of every renamed member (the last is ours, the list a sync of many
/// orders names, spelt in the same two ways).
const RENAMED: [(&str, &str); 4] = [
    ("allocationNo", "allocNo"),
    ("bizAllocationNo", "bizAllocNo"),
    ("outAllocationNo", "outAllocNo"),
    ("allocationNos", "allocNos"),
];

/// The spelling of a request: 2.0.8 when it names any member the 2.0.8 way (`names` says
/// whether the request has a member of that name).
pub fn of_request(names: impl Fn(&str) -> bool) -> Spelling {
    if RENAMED.iter().any(|(_, new)| names(new)) {
        Spelling::V208
    } else {
        Spelling::V207
    }
}

/// Renames the top-level members of an answer (built with 2.0.7 names) to `spelling`.
pub fn respell(spelling: Spelling, data: &mut Map<String, Value>) {
    if spelling == Spelling::V207 {
        return;
    }
    for (old, new) in RENAMED {
        if let Some(v) = data.remove(old) {
            data.insert(new.to_owned(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn of(v: Value) -> Spelling {
        let m = map(v);
        of_request(|name| m.contains_key(name))
    }

    #[test]
    fn a_request_speaks_2_0_8_when_it_uses_any_new_name() {
        assert_eq!(of(json!({"allocationNo": "A"})), Spelling::V207);
        assert_eq!(of(json!({"bizAllocNo": "A"})), Spelling::V208);
        assert_eq!(of(json!({"allocNo": "A"})), Spelling::V208);
        assert_eq!(of(json!({"orderNo": "P"})), Spelling::V207);
    }

    #[test]
    fn respelling_renames_only_the_renamed_members() {
        let mut d = map(json!({"allocationNo": "A", "bizAllocationNo": "B",
            "outAllocationNo": "C", "orderNo": "P"}));
        respell(Spelling::V208, &mut d);
        assert_eq!(
            Value::Object(d),
            json!({"allocNo": "A", "bizAllocNo": "B", "outAllocNo": "C", "orderNo": "P"})
        );
        let mut d = map(json!({"allocationNo": "A"}));
        respell(Spelling::V207, &mut d);
        assert_eq!(Value::Object(d), json!({"allocationNo": "A"}));
        assert_eq!(Spelling::from_code("2.0.8"), Some(Spelling::V208));
        assert_eq!(Spelling::from_code("2.1"), None);
    }
}
