//! Settings: a flag overrides the environment, which overrides the configuration file
//! (`key = value` lines).

use alloc_client::{SignType, Spelling};
use clap::ArgMatches;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// One setting: its flag, its variable, its key in the file.
struct Key {
    flag: &'static str,
    env: &'static str,
    file: &'static str,
}

const URL: Key = Key {
    flag: "url",
    env: "ALLOC_URL",
    file: "url",
};
const SECRET: Key = Key {
    flag: "sign-secret",
    env: "ALLOC_SIGN_SECRET",
    file: "sign_secret",
};
const SIGN_TYPE: Key = Key {
    flag: "sign-type",
    env: "ALLOC_SIGN_TYPE",
    file: "sign_type",
};
const SPELLING: Key = Key {
    flag: "spelling",
    env: "ALLOC_SPELLING",
    file: "spelling",
};
const TIMEOUT: Key = Key {
    flag: "timeout",
    env: "ALLOC_TIMEOUT_SECS",
    file: "timeout_secs",
};
const RETRIES: Key = Key {
    flag: "retries",
    env: "ALLOC_RETRIES",
    file: "retries",
};
const CLIENT_IP: Key = Key {
    flag: "client-ip",
    env: "ALLOC_CLIENT_IP",
    file: "client_ip",
};
const ALL: [&Key; 7] = [
    &URL, &SECRET, &SIGN_TYPE, &SPELLING, &TIMEOUT, &RETRIES, &CLIENT_IP,
];

/// Everything a call needs; the URL and the secret may be missing until a command needs them.
/// (No `Debug`: it holds the secret.)
pub struct Settings {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub sign_type: SignType,
    pub spelling: Spelling,
    pub timeout: Duration,
    pub retries: u32,
    pub client_ip: Option<String>,
}

/// Where the values come from.
pub struct Sources<'a> {
    pub matches: &'a ArgMatches,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Sources<'_> {
    fn flag(&self, key: &Key) -> Option<String> {
        // numbers are parsed by clap as numbers; everything else is text
        if let Ok(Some(v)) = self.matches.try_get_one::<String>(key.flag) {
            return Some(v.clone());
        }
        if let Ok(Some(v)) = self.matches.try_get_one::<u64>(key.flag) {
            return Some(v.to_string());
        }
        if let Ok(Some(v)) = self.matches.try_get_one::<u32>(key.flag) {
            return Some(v.to_string());
        }
        None
    }

    fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }
}

/// Resolves the settings. `sign_fallbacks`: also read `SIGN_SECRET` and `SIGN_TYPE` (the local
/// run's names) after the `ALLOC_` ones, for `alloc sign` in scripts.
pub fn resolve(sources: &Sources<'_>, sign_fallbacks: bool) -> Result<Settings, String> {
    let file = read_file(sources)?;
    let value = |key: &Key, fallback_env: Option<&str>| -> Option<String> {
        sources
            .flag(key)
            .or_else(|| sources.env(key.env))
            .or_else(|| fallback_env.and_then(|name| sources.env(name)))
            .or_else(|| file.get(key.file).cloned())
    };
    let fallback = |name| sign_fallbacks.then_some(name);
    let sign_type = match value(&SIGN_TYPE, fallback("SIGN_TYPE")) {
        Some(t) => t.parse().map_err(|e| format!("sign type: {e}"))?,
        None => SignType::HmacSha256,
    };
    let spelling = match value(&SPELLING, None) {
        Some(s) => s.parse()?,
        None => Spelling::V207,
    };
    let timeout = match value(&TIMEOUT, None) {
        Some(t) => match t.parse::<u64>() {
            Ok(secs @ 1..=600) => Duration::from_secs(secs),
            _ => return Err(format!("timeout `{t}`: expected seconds from 1 to 600")),
        },
        None => Duration::from_secs(20),
    };
    let retries = match value(&RETRIES, None) {
        Some(r) => match r.parse::<u32>() {
            Ok(n @ 0..=10) => n,
            _ => return Err(format!("retries `{r}`: expected 0 to 10")),
        },
        None => 2,
    };
    Ok(Settings {
        url: value(&URL, None),
        secret: value(&SECRET, fallback("SIGN_SECRET")),
        sign_type,
        spelling,
        timeout,
        retries,
        client_ip: value(&CLIENT_IP, None),
    })
}

/// The configuration file: `--config PATH` (which must exist), else
/// `$XDG_CONFIG_HOME/alloc/config`, else `~/.config/alloc/config` (either may be absent).
fn read_file(sources: &Sources<'_>) -> Result<HashMap<String, String>, String> {
    let (path, required) = match sources.matches.get_one::<String>("config") {
        Some(p) => (PathBuf::from(p), true),
        None => match default_path(sources) {
            Some(p) => (p, false),
            None => return Ok(HashMap::new()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(HashMap::new());
        }
        Err(e) => return Err(format!("config file {}: {e}", path.display())),
    };
    parse_file(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

fn default_path(sources: &Sources<'_>) -> Option<PathBuf> {
    let base = match sources.env("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(sources.env("HOME")?).join(".config"),
    };
    Some(base.join("alloc").join("config"))
}

/// `key = value` lines; blank lines and lines starting with `#` are skipped; a value may be
/// quoted with `"` or `'`.
pub fn parse_file(text: &str) -> Result<HashMap<String, String>, String> {
    let mut values = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected `key = value`", n + 1));
        };
        let key = key.trim();
        if !ALL.iter().any(|k| k.file == key) {
            let known: Vec<&str> = ALL.iter().map(|k| k.file).collect();
            return Err(format!(
                "line {}: unknown key `{key}` (known: {})",
                n + 1,
                known.join(", ")
            ));
        }
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        values.insert(key.to_owned(), value.to_owned());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_key_value_lines() {
        let text =
            "# alloc\n\nurl = http://127.0.0.1:9000\nsign_secret = \"a = b\"\nspelling=2.0.8\n";
        let got = parse_file(text).unwrap_or_default();
        assert_eq!(got["url"], "http://127.0.0.1:9000");
        assert_eq!(got["sign_secret"], "a = b");
        assert_eq!(got["spelling"], "2.0.8");
        assert!(parse_file("colour = red").is_err_and(|e| e.contains("line 1: unknown key")));
        assert!(parse_file("url").is_err_and(|e| e.contains("expected `key = value`")));
    }

    fn resolve_with(args: &[&str], env: &[(&str, &str)]) -> Result<Settings, String> {
        let matches = crate::cli::command()
            .try_get_matches_from(args)
            .map_err(|e| e.to_string())?;
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |k: &str| env.get(k).cloned();
        resolve(
            &Sources {
                matches: &matches,
                env: &lookup,
            },
            true,
        )
    }

    #[test]
    fn flags_override_the_environment() {
        let env = [
            ("ALLOC_URL", "http://env"),
            ("ALLOC_SPELLING", "2.0.8"),
            ("ALLOC_SIGN_SECRET", "env-secret"),
            ("SIGN_SECRET", "local-secret"),
            ("HOME", "/nonexistent"),
        ];
        let s = resolve_with(&["alloc", "--url", "http://flag", "sync", "A1"], &env);
        let s = s.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.url.as_deref(), Some("http://flag"));
        assert_eq!(s.spelling, Spelling::V208);
        assert_eq!(s.secret.as_deref(), Some("env-secret"));
        let s = resolve_with(
            &["alloc", "sign", "{}", "--timeout", "7"],
            &[("SIGN_SECRET", "local-secret"), ("HOME", "/nonexistent")],
        );
        let s = s.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.secret.as_deref(), Some("local-secret"));
        assert_eq!(s.timeout, Duration::from_secs(7));
        let bad = resolve_with(
            &["alloc", "sync", "A1"],
            &[("ALLOC_SIGN_TYPE", "SHA1"), ("HOME", "/nonexistent")],
        );
        assert!(bad.is_err_and(|e| e.contains("SHA1")));
    }
}
