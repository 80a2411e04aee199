//! An app's settings (SPEC §8.1): every merchant-facing setting that is a stack-wide environment
//! variable is also an app setting, whose default is that variable. An app stores only what it
//! sets; its effective settings are read through the same parsers as the stack's own, over
//! the app's values first and the environment after, so an app setting has exactly the rules
//! (and defaults) of its variable.

use super::config::Verification;
use super::job_settings::JobSettings;
use super::setting::ConfigError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Each app setting: its name in the admin API and the variable it stands for.
pub const APP_SETTINGS: &[(&str, &str)] = &[
    ("signType", "SIGN_TYPE"),
    ("reqSign", "REQ_SIGN"),
    ("reqTimeoutSecs", "REQ_TIMEOUT_SECS"),
    ("notifyUrl", "DEFAULT_NOTIFY_URL"),
    ("fieldNames", "DEFAULT_FIELD_NAMES"),
    ("autoFinish", "AUTO_FINISH"),
    ("autoFinishDelaySecs", "AUTO_FINISH_DELAY_SECS"),
    ("autoAllocationDelaySecs", "AUTO_ALLOCATION_DELAY_SECS"),
    ("syncFirstDelaySecs", "SYNC_FIRST_DELAY_SECS"),
    ("syncMaxIntervalSecs", "SYNC_MAX_INTERVAL_SECS"),
    ("syncMaxAgeSecs", "SYNC_MAX_AGE_SECS"),
    ("notifyDelaysSecs", "NOTIFY_DELAYS_SECS"),
    ("freezeDeadlineSecs", "FREEZE_DEADLINE_SECS"),
    ("freezeDeadlineMarginSecs", "FREEZE_DEADLINE_MARGIN_SECS"),
    ("freezeDeadlineAction", "FREEZE_DEADLINE_ACTION"),
];

fn variable_of(name: &str) -> Option<&'static str> {
    APP_SETTINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

fn name_of(variable: &str) -> &'static str {
    APP_SETTINGS
        .iter()
        .find(|(_, v)| *v == variable)
        .map_or("settings", |(n, _)| *n)
}

/// A setting that is not one, named as the admin API names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct SettingError {
    pub field: String,
    pub rule: String,
}

/// The settings an app sets, each as its variable's text. Empty: the stack's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSettings(BTreeMap<&'static str, String>);

/// What an app's settings come to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub verification: Verification,
    pub jobs: JobSettings,
}

impl AppSettings {
    /// The settings as the table keeps them (`{"AUTO_FINISH": "false", ...}`); unknown
    /// variables are left out.
    pub fn from_stored(text: &str) -> Self {
        let map: BTreeMap<String, String> = serde_json::from_str(text).unwrap_or_default();
        Self(
            map.into_iter()
                .filter_map(|(k, v)| {
                    let known = APP_SETTINGS.iter().find(|(_, var)| *var == k)?.1;
                    Some((known, v))
                })
                .collect(),
        )
    }

    /// The text the table keeps.
    pub fn stored(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Applies a change from the admin API: each member sets a setting, `null` clears it (back
    /// to the stack's default). Nothing changes unless every member is a setting of the right
    /// shape and the result is valid over `env` (the stack's variables).
    pub fn changed(
        &self,
        change: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingError> {
        let mut next = self.clone();
        for (name, value) in change {
            let variable = variable_of(name).ok_or_else(|| SettingError {
                field: format!("settings.{name}"),
                rule: "is not an app setting".into(),
            })?;
            match text_of(value) {
                Some(None) => {
                    next.0.remove(variable);
                }
                Some(Some(text)) => {
                    next.0.insert(variable, text);
                }
                None => {
                    return Err(SettingError {
                        field: format!("settings.{name}"),
                        rule:
                            "must be a string, a number, true or false, a list of numbers, or null"
                                .into(),
                    });
                }
            }
        }
        next.effective(env)?;
        Ok(next)
    }

    /// The effective settings: this app's values over `env`.
    pub fn effective(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Effective, SettingError> {
        let get = |name: &str| {
            self.0
                .get(name)
                .cloned()
                .or_else(|| env(name))
                .filter(|v| !v.trim().is_empty())
        };
        let named = |e: ConfigError| SettingError {
            field: format!("settings.{}", name_of(e.setting)),
            rule: e.problem,
        };
        Ok(Effective {
            verification: Verification::from_lookup(&get).map_err(named)?,
            jobs: JobSettings::from_lookup(&get).map_err(named)?,
        })
    }

    /// The settings this app sets, named as the admin API names them, as JSON.
    pub fn overrides(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(var, text)| (name_of(var).to_owned(), value_of(text)))
            .collect()
    }
}

/// The variable text of a JSON value (`Some(None)`: null, clear it; `None`: not a setting's
/// shape). Lists of numbers are written as the variables write them, comma-separated.
fn text_of(value: &Value) -> Option<Option<String>> {
    Some(Some(match value {
        Value::Null => return Some(None),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        Value::Array(items) => {
            let numbers: Option<Vec<String>> = items
                .iter()
                .map(|i| i.as_i64().map(|n| n.to_string()))
                .collect();
            numbers?.join(",")
        }
        Value::Object(_) => return None,
    }))
}

/// A variable's text as JSON for the admin API: a number, a boolean, a list or text.
fn value_of(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    let list: Option<Vec<Value>> = text
        .split(',')
        .map(|x| x.trim().parse::<i64>().ok().map(Value::from))
        .collect();
    match list {
        Some(l) if l.len() > 1 => Value::Array(l),
        _ => Value::String(text.to_owned()),
    }
}

/// The effective value of every app setting, for the admin API's view of an app.
pub fn effective_view(e: &Effective) -> Map<String, Value> {
    let j = &e.jobs;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put(
        "signType",
        Value::from(e.verification.sign_type.to_string()),
    );
    put("reqSign", Value::from(e.verification.require_sign));
    put(
        "reqTimeoutSecs",
        Value::from(e.verification.req_timeout_secs),
    );
    put(
        "notifyUrl",
        j.default_notify_url
            .clone()
            .map_or(Value::Null, Value::from),
    );
    put("fieldNames", Value::from(j.default_spelling.code()));
    put("autoFinish", Value::from(j.auto_finish));
    put("autoFinishDelaySecs", Value::from(j.auto_finish_delay_secs));
    put(
        "autoAllocationDelaySecs",
        Value::from(j.auto_allocation_delay_secs),
    );
    put("syncFirstDelaySecs", Value::from(j.sync_first_delay_secs));
    put("syncMaxIntervalSecs", Value::from(j.sync_max_interval_secs));
    put("syncMaxAgeSecs", Value::from(j.sync_max_age_secs));
    put(
        "notifyDelaysSecs",
        Value::from(j.notify_delays_secs.clone()),
    );
    put("freezeDeadlineSecs", Value::from(j.freeze_deadline_secs));
    put(
        "freezeDeadlineMarginSecs",
        Value::from(j.freeze_deadline_margin_secs),
    );
    put(
        "freezeDeadlineAction",
        Value::from(if j.freeze_deadline_allocates {
            "allocate"
        } else {
            "notify"
        }),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "AUTO_FINISH_DELAY_SECS" => Some("120".into()),
            _ => None,
        }
    }

    fn change(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn an_app_setting_defaults_to_its_variable_and_overrides_it() {
        let none = AppSettings::default();
        let e = none.effective(&env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.jobs.auto_finish_delay_secs, 120);
        assert!(e.jobs.auto_finish);
        let set = none
            .changed(
                &change(json!({"autoFinish": false, "autoFinishDelaySecs": 30,
                    "signType": "MD5", "notifyDelaysSecs": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]})),
                &env,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let e = set.effective(&env).unwrap_or_else(|e| panic!("{e}"));
        assert!(!e.jobs.auto_finish);
        assert_eq!(e.jobs.auto_finish_delay_secs, 30);
        assert_eq!(e.jobs.notify_delays_secs, vec![1; 15]);
        assert_eq!(e.verification.sign_type.to_string(), "MD5");
        // stored and read back
        assert_eq!(AppSettings::from_stored(&set.stored()), set);
        assert_eq!(set.overrides().get("autoFinish"), Some(&json!(false)));
        assert_eq!(
            set.overrides().get("notifyDelaysSecs"),
            Some(&json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))
        );
        // null clears an override: back to the variable
        let cleared = set
            .changed(&change(json!({"autoFinishDelaySecs": null})), &env)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cleared
                .effective(&env)
                .map(|e| e.jobs.auto_finish_delay_secs),
            Ok(120)
        );
    }

    #[test]
    fn a_bad_setting_is_named_and_changes_nothing() {
        let none = AppSettings::default();
        let err = |v: Value| none.changed(&change(v), &env).err().map(|e| e.to_string());
        assert_eq!(
            err(json!({"autoFinish": "yes"})).as_deref(),
            Some("settings.autoFinish: must be true or false")
        );
        assert_eq!(
            err(json!({"reqTimeoutSecs": 0})).as_deref(),
            Some("settings.reqTimeoutSecs: must be whole seconds from 1 to 86400")
        );
        assert_eq!(
            err(json!({"workerConcurrency": 5})).as_deref(),
            Some("settings.workerConcurrency: is not an app setting")
        );
        assert!(err(json!({"notifyUrl": "ftp://x"})).is_some());
        assert!(err(json!({"notifyDelaysSecs": [1, 2]})).is_some());
        assert!(err(json!({"autoFinish": {"a": 1}})).is_some());
        assert!(err(json!({"freezeDeadlineAction": "allocate"})).is_none());
    }
}
