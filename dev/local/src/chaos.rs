//! Chaos for the local runner (SPEC §9: any function may die between any two calls; SQS may
//! deliver a message twice, late or out of order), off until asked for, switchable at run time.
//!
//! **Crashes.** Each sandbox of a function run with a [`Chaos`] reaches AWS and the channels
//! through proxies of its own (the variables in [`PROXIED_ENV`] point at them; each proxy
//! forwards to the URL the variable had). When an invocation is handed out, it is picked for a
//! crash with the function's crash rate, and given the outgoing call after which it dies: a number
//! drawn from `crash_after` (`[min, max]`, default `[1, 8]`). That call reaches its target and is
//! answered; the proxy then kills the sandbox with SIGKILL, as Lambda kills one at a timeout or out
//! of memory, and the answer is never passed on: the call's effect happened, the function died. An
//! invocation that answers before making that many calls is killed when it posts its answer
//! (its work done, its answer lost). The killed invocation fails with
//! [`HostError::Killed`](crate::runtime::HostError::Killed); the next invocation gets a fresh
//! sandbox (a cold start), as on Lambda.
//!
//! **SQS** (the `sqs-worker`'s event source, [`crate::sqs`]):
//! - `dupes_rate`: a message the function handled is not deleted (as if the delete were lost),
//!   so the queue delivers it again after its visibility timeout: the at-least-once duplicate.
//! - `twin_rate`: a received message is also put into the next batch this worker starts (often
//!   concurrent with the first, in another sandbox), with the same receipt handle.
//! - `reorder_rate`: a batch is shuffled.
//! - `holdback_rate`: a received message is held back and delivered in a later batch, after
//!   messages received after it (within about a second, well inside the visibility timeout).
//!
//! **Control.** `GET`, `POST` and `DELETE` on [`CONTROL_PATH`] at the front door (`serve-http`):
//! `POST` merges the given fields into the settings (a field left out keeps its value; every
//! change restarts the random streams, so that a seed gives the same draws from there on),
//! `DELETE` heals (every rate back to 0; the counters are kept), `GET` reads them. All answer
//! the status: `{"process", "config", "counters", "totals", "processes"}`. The settings:
//!
//! ```json
//! {"seed": 1, "crash_rate": 0.02, "crash_rates": {"worker": 0.05}, "crash_after": [1, 8],
//!  "dupes_rate": 0.1, "twin_rate": 0.02, "reorder_rate": 0.1, "holdback_rate": 0.05}
//! ```
//!
//! (`crash_rates` overrides `crash_rate` for the functions it names; the functions are `api`,
//! `worker` and `scheduler` in `scripts/run.sh`.) They can also be given at start:
//! `LOCAL_CHAOS` (JSON as above), then `--chaos JSON`, then `--crash-rate R`.
//!
//! **Several processes.** `serve-http`, `sqs-worker` and `schedule` are separate processes. With
//! `LOCAL_CHAOS_DIR` set (the same directory for all of them), a change made through the front
//! door is written to `config.json` there and every process applies it within
//! [`REFRESH_EVERY`]; each process writes its settings and counters to `status-<function>.json`
//! there, and the front door's `GET` sums them (`totals`) and lists them (`processes`). A
//! `config.json` older than a process is not applied to it (a stale file from an earlier run);
//! a status file is replaced by the next process of the same function. Without the directory,
//! each process only knows its own settings, and the front door controls the api alone.
//!
//! Counters: `crashes` (per function), `crashes_after_call`, `crashes_at_response`,
//! `lost_deletes`, `twins`, `shuffled_batches`, `held_back`; the totals add `duplicates`
//! (`lost_deletes` + `twins`) and `reordered` (`shuffled_batches` + `held_back`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::Message;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// The control endpoint's path at the front door.
pub const CONTROL_PATH: &str = "/__local/chaos";
/// The settings to start with (JSON).
pub const CONFIG_ENV: &str = "LOCAL_CHAOS";
/// The directory the processes of one local system share their settings and counters through.
pub const DIR_ENV: &str = "LOCAL_CHAOS_DIR";
/// The variables of a function's environment whose `http://` URLs are proxied (see the module
/// docs): the AWS endpoint, the default app's channel gateways, the default notify URL. Apps
/// created through the admin API carry their own gateway URLs: those calls are not proxied, so
/// they are not counted and no crash is placed right after them.
pub const PROXIED_ENV: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "ALIPAY_GATEWAY_URL",
    "WECHAT_BASE_URL",
    "DEFAULT_NOTIFY_URL",
];
/// How often a process looks for a change written by another one.
pub const REFRESH_EVERY: Duration = Duration::from_millis(50);
const CONFIG_FILE: &str = "config.json";
const DEFAULT_CRASH_AFTER: (u32, u32) = (1, 8);
const LOG: &str = "[chaos]";

/// What to inject. All rates are probabilities (0 to 1); the default injects nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Seeds every random stream (one per function and per queue); `None`: from the OS.
    pub seed: Option<u64>,
    /// The share of invocations killed, for every function not in `crash_rates`.
    pub crash_rate: f64,
    /// Per function name, overriding `crash_rate`.
    pub crash_rates: BTreeMap<String, f64>,
    /// The outgoing call after which a picked invocation dies: uniform in `[min, max]` (1 or more).
    pub crash_after: (u32, u32),
    pub dupes_rate: f64,
    pub twin_rate: f64,
    pub reorder_rate: f64,
    pub holdback_rate: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            seed: None,
            crash_rate: 0.0,
            crash_rates: BTreeMap::new(),
            crash_after: DEFAULT_CRASH_AFTER,
            dupes_rate: 0.0,
            twin_rate: 0.0,
            reorder_rate: 0.0,
            holdback_rate: 0.0,
        }
    }
}

impl Settings {
    /// These settings with the fields of `patch` (a JSON object) replacing theirs. Unknown
    /// fields and out-of-range values are refused, so that a typo does not silently inject
    /// nothing.
    pub fn patched(&self, patch: &Value) -> Result<Settings, String> {
        let Some(fields) = patch.as_object() else {
            return Err("the chaos settings are a JSON object".into());
        };
        let mut next = self.clone();
        for (name, value) in fields {
            match name.as_str() {
                "seed" => {
                    next.seed = match value {
                        Value::Null => None,
                        _ => Some(
                            value
                                .as_u64()
                                .ok_or("seed: a non-negative integer or null")?,
                        ),
                    }
                }
                "crash_rate" => next.crash_rate = rate(name, value)?,
                "crash_rates" => {
                    let Some(rates) = value.as_object() else {
                        return Err("crash_rates: an object of function name to rate".into());
                    };
                    next.crash_rates = rates
                        .iter()
                        .map(|(function, r)| Ok((function.clone(), rate(name, r)?)))
                        .collect::<Result<_, String>>()?;
                }
                "crash_after" => next.crash_after = call_range(value)?,
                "dupes_rate" => next.dupes_rate = rate(name, value)?,
                "twin_rate" => next.twin_rate = rate(name, value)?,
                "reorder_rate" => next.reorder_rate = rate(name, value)?,
                "holdback_rate" => next.holdback_rate = rate(name, value)?,
                other => {
                    return Err(format!(
                        "unknown chaos setting `{other}` (known: seed, crash_rate, crash_rates, \
                         crash_after, dupes_rate, twin_rate, reorder_rate, holdback_rate)"
                    ));
                }
            }
        }
        Ok(next)
    }

    /// The settings as JSON (the shape [`Settings::patched`] reads).
    pub fn to_json(&self) -> Value {
        json!({
            "seed": self.seed,
            "crash_rate": self.crash_rate,
            "crash_rates": self.crash_rates,
            "crash_after": [self.crash_after.0, self.crash_after.1],
            "dupes_rate": self.dupes_rate,
            "twin_rate": self.twin_rate,
            "reorder_rate": self.reorder_rate,
            "holdback_rate": self.holdback_rate,
        })
    }

    /// The crash rate of `function`.
    pub fn crash_rate_for(&self, function: &str) -> f64 {
        self.crash_rates
            .get(function)
            .copied()
            .unwrap_or(self.crash_rate)
    }

    /// Healed: every rate 0, the rest kept.
    fn healed(&self) -> Settings {
        Settings {
            seed: self.seed,
            crash_after: self.crash_after,
            ..Settings::default()
        }
    }
}

fn rate(name: &str, value: &Value) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("{name}: a probability from 0 to 1"))
}

fn call_range(value: &Value) -> Result<(u32, u32), String> {
    let number = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let range = match value {
        Value::Array(pair) if pair.len() == 2 => number(&pair[0]).zip(number(&pair[1])),
        other => number(other).map(|n| (n, n)),
    };
    range
        .filter(|(low, high)| *low >= 1 && low <= high)
        .ok_or_else(|| "crash_after: a call number (1 or more) or [min, max]".into())
}

/// What was injected (by one process, or summed over several).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Sandboxes killed, per function.
    pub crashes: BTreeMap<String, u64>,
    /// ... right after an outgoing call was answered.
    pub crashes_after_call: u64,
    /// ... when posting their answer (fewer calls than planned).
    pub crashes_at_response: u64,
    /// Handled messages left undeleted (delivered again after the visibility timeout).
    pub lost_deletes: u64,
    /// Messages also handed to a second batch.
    pub twins: u64,
    /// Batches shuffled.
    pub shuffled_batches: u64,
    /// Messages held back for a later batch.
    pub held_back: u64,
}

impl Counters {
    /// Every sandbox killed.
    pub fn crashes_total(&self) -> u64 {
        self.crashes.values().sum()
    }

    /// Every duplicate delivery caused.
    pub fn duplicates(&self) -> u64 {
        self.lost_deletes + self.twins
    }

    /// Every reordering caused.
    pub fn reordered(&self) -> u64 {
        self.shuffled_batches + self.held_back
    }

    pub fn to_json(&self) -> Value {
        json!({
            "crashes": self.crashes,
            "crashes_after_call": self.crashes_after_call,
            "crashes_at_response": self.crashes_at_response,
            "lost_deletes": self.lost_deletes,
            "twins": self.twins,
            "shuffled_batches": self.shuffled_batches,
            "held_back": self.held_back,
        })
    }

    /// Reads [`Counters::to_json`] back (missing numbers are 0).
    pub fn from_json(value: &Value) -> Counters {
        let number = |name: &str| value[name].as_u64().unwrap_or(0);
        let crashes = value["crashes"].as_object().into_iter().flatten();
        Counters {
            crashes: crashes
                .map(|(f, n)| (f.clone(), n.as_u64().unwrap_or(0)))
                .collect(),
            crashes_after_call: number("crashes_after_call"),
            crashes_at_response: number("crashes_at_response"),
            lost_deletes: number("lost_deletes"),
            twins: number("twins"),
            shuffled_batches: number("shuffled_batches"),
            held_back: number("held_back"),
        }
    }

    fn add(&mut self, other: &Counters) {
        for (function, n) in &other.crashes {
            *self.crashes.entry(function.clone()).or_default() += n;
        }
        self.crashes_after_call += other.crashes_after_call;
        self.crashes_at_response += other.crashes_at_response;
        self.lost_deletes += other.lost_deletes;
        self.twins += other.twins;
        self.shuffled_batches += other.shuffled_batches;
        self.held_back += other.held_back;
    }

    /// The totals a soak prints: crashes, duplicates and reorderings, with the details.
    pub fn totals_json(&self) -> Value {
        let mut totals = self.to_json();
        totals["crashes_by_function"] = totals["crashes"].take();
        totals["crashes"] = self.crashes_total().into();
        totals["duplicates"] = self.duplicates().into();
        totals["reordered"] = self.reordered().into();
        totals
    }
}

struct State {
    settings: Settings,
    counters: Counters,
    /// One stream per function (crash plans) and per queue (SQS), so that what one of them
    /// draws does not depend on how often the others drew.
    streams: HashMap<String, StdRng>,
}

impl State {
    fn stream(&mut self, key: &str) -> &mut StdRng {
        let seed = self.settings.seed;
        self.streams
            .entry(key.to_owned())
            .or_insert_with(|| match seed {
                Some(seed) => StdRng::seed_from_u64(seed ^ fnv1a(key)),
                None => StdRng::from_os_rng(),
            })
    }
}

/// A stable hash of a stream's name (std's hasher may change between Rust releases, which
/// would change what a seed gives).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Default)]
struct FileSync {
    /// The `version` of the last `config.json` applied (or found at start, and so ignored).
    version: Option<String>,
    checked: Option<Instant>,
}

/// One process's chaos: its settings, its random streams, its counters, and the messages its SQS
/// pollers hold for a later batch. Shared by every sandbox and poller of the process.
pub struct Chaos {
    process: String,
    dir: Option<PathBuf>,
    state: Mutex<State>,
    file: Mutex<FileSync>,
    /// Serialises this process's writes of its status file.
    writing: Mutex<()>,
    held: Mutex<Vec<(String, Message)>>,
}

impl std::fmt::Debug for Chaos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chaos")
            .field("process", &self.process)
            .field("dir", &self.dir)
            .field("settings", &lock(&self.state).settings)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Chaos {
    /// Chaos for one process (`process`: its function's name, which names its status file),
    /// starting with `settings`. With `dir`, it follows the settings written there (see the
    /// module docs); the directory is created if missing.
    pub fn new(
        process: impl Into<String>,
        settings: Settings,
        dir: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        let chaos = Self {
            process: process.into(),
            dir,
            state: Mutex::new(State {
                settings,
                counters: Counters::default(),
                streams: HashMap::new(),
            }),
            file: Mutex::new(FileSync::default()),
            writing: Mutex::new(()),
            held: Mutex::new(Vec::new()),
        };
        if let Some(dir) = &chaos.dir {
            std::fs::create_dir_all(dir)?;
            // What is there now predates this process: only a later change applies to it.
            lock(&chaos.file).version = read_config(dir).map(|(version, _)| version);
            chaos.write_status();
        }
        Ok(chaos)
    }

    /// Chaos that injects nothing until told to, for one process, not shared.
    pub fn off(process: impl Into<String>) -> Self {
        Self {
            process: process.into(),
            dir: None,
            state: Mutex::new(State {
                settings: Settings::default(),
                counters: Counters::default(),
                streams: HashMap::new(),
            }),
            file: Mutex::new(FileSync::default()),
            writing: Mutex::new(()),
            held: Mutex::new(Vec::new()),
        }
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.refresh(false);
        lock(&self.state).settings.clone()
    }

    /// This process's counters.
    pub fn counters(&self) -> Counters {
        lock(&self.state).counters.clone()
    }

    /// Merges `patch` into the settings (and, with a directory, into every process's).
    pub fn update(&self, patch: &Value) -> Result<Settings, String> {
        self.refresh(true);
        let next = lock(&self.state).settings.patched(patch)?;
        self.apply(next.clone(), true);
        Ok(next)
    }

    /// Heals: no more crashes, duplicates or reordering (the counters are kept).
    pub fn heal(&self) -> Settings {
        self.refresh(true);
        let next = lock(&self.state).settings.healed();
        self.apply(next.clone(), true);
        next
    }

    /// This process's settings and counters, and with a directory every process's, summed.
    pub fn status(&self) -> Value {
        self.refresh(true);
        let (settings, counters) = {
            let state = lock(&self.state);
            (state.settings.clone(), state.counters.clone())
        };
        let mut processes = vec![json!({
            "process": self.process,
            "pid": std::process::id(),
            "config": settings.to_json(),
            "counters": counters.to_json(),
        })];
        let mut totals = counters.clone();
        if let Some(dir) = &self.dir {
            for status in other_statuses(dir, &self.process) {
                totals.add(&Counters::from_json(&status["counters"]));
                processes.push(status);
            }
        }
        json!({
            "process": self.process,
            "config": settings.to_json(),
            "counters": counters.to_json(),
            "totals": totals.totals_json(),
            "processes": processes,
        })
    }

    /// Whether the next invocation of `function` dies, and after which outgoing call.
    pub(crate) fn plan_crash(&self, function: &str) -> Option<u32> {
        self.refresh(false);
        let mut state = lock(&self.state);
        let rate = state.settings.crash_rate_for(function);
        let (low, high) = state.settings.crash_after;
        let stream = state.stream(&format!("crash/{function}"));
        // Both draws always happen, so that a rate change does not shift the call numbers.
        let (draw, call) = (stream.random::<f64>(), stream.random_range(low..=high));
        (draw < rate).then_some(call)
    }

    pub(crate) fn count_crash(&self, function: &str, at_response: bool) {
        {
            let mut state = lock(&self.state);
            *state
                .counters
                .crashes
                .entry(function.to_owned())
                .or_default() += 1;
            if at_response {
                state.counters.crashes_at_response += 1;
            } else {
                state.counters.crashes_after_call += 1;
            }
        }
        self.write_status();
    }

    /// Splits freshly received messages: those held back go to the mailbox instead of this
    /// batch, twins go there as well as into it. Returns the batch, and how many were twinned
    /// and held back.
    pub(crate) fn scatter(&self, queue: &str, fresh: Vec<Message>) -> (Vec<Message>, u64, u64) {
        self.refresh(false);
        let mut batch = Vec::with_capacity(fresh.len());
        let mut later = Vec::new();
        let (mut twins, mut held) = (0, 0);
        {
            let mut state = lock(&self.state);
            let (twin_rate, holdback_rate) =
                (state.settings.twin_rate, state.settings.holdback_rate);
            if twin_rate == 0.0 && holdback_rate == 0.0 {
                return (fresh, 0, 0);
            }
            let stream = state.stream(&format!("sqs/{queue}"));
            for message in fresh {
                let (twin, hold) = (stream.random::<f64>(), stream.random::<f64>());
                if hold < holdback_rate {
                    held += 1;
                    later.push(message);
                    continue;
                }
                if twin < twin_rate {
                    twins += 1;
                    later.push(message.clone());
                }
                batch.push(message);
            }
            state.counters.twins += twins;
            state.counters.held_back += held;
        }
        if !later.is_empty() {
            lock(&self.held).extend(later.into_iter().map(|m| (queue.to_owned(), m)));
            self.write_status();
        }
        (batch, twins, held)
    }

    /// Messages of `queue` waiting for a later batch, oldest first, at most `max`.
    pub(crate) fn take_held(&self, queue: &str, max: usize) -> Vec<Message> {
        let mut held = lock(&self.held);
        let mut taken = Vec::new();
        let mut index = 0;
        while index < held.len() && taken.len() < max {
            if held[index].0 == queue {
                taken.push(held.remove(index).1);
            } else {
                index += 1;
            }
        }
        taken
    }

    /// Puts messages back in the mailbox (their batch could not be made).
    pub(crate) fn hold_again(&self, queue: &str, messages: Vec<Message>) {
        let mut held = lock(&self.held);
        for (at, message) in messages.into_iter().enumerate() {
            held.insert(at, (queue.to_owned(), message));
        }
    }

    /// Shuffles a batch of two or more messages with the reorder rate; whether it did.
    pub(crate) fn shuffle(&self, queue: &str, batch: &mut [Message]) -> bool {
        let shuffled = {
            let mut state = lock(&self.state);
            let rate = state.settings.reorder_rate;
            if rate == 0.0 || batch.len() < 2 {
                return false;
            }
            let stream = state.stream(&format!("sqs/{queue}"));
            let shuffle = stream.random::<f64>() < rate;
            if shuffle {
                let before: Vec<Option<String>> =
                    batch.iter().map(|m| m.message_id.clone()).collect();
                batch.shuffle(stream);
                // An identity permutation would be counted without reordering anything.
                if batch.iter().map(|m| m.message_id.clone()).eq(before) {
                    batch.reverse();
                }
                state.counters.shuffled_batches += 1;
            }
            shuffle
        };
        if shuffled {
            self.write_status();
        }
        shuffled
    }

    /// Whether the delete of one handled message is lost.
    pub(crate) fn lose_delete(&self, queue: &str) -> bool {
        let lost = {
            let mut state = lock(&self.state);
            let rate = state.settings.dupes_rate;
            if rate == 0.0 {
                return false;
            }
            let lost = state.stream(&format!("sqs-delete/{queue}")).random::<f64>() < rate;
            if lost {
                state.counters.lost_deletes += 1;
            }
            lost
        };
        if lost {
            self.write_status();
        }
        lost
    }

    fn apply(&self, settings: Settings, publish: bool) {
        {
            let mut state = lock(&self.state);
            state.settings = settings.clone();
            // Fresh streams: the same settings and seed give the same draws from here on.
            state.streams.clear();
        }
        if publish && let Some(dir) = &self.dir {
            let version = new_version();
            let config = json!({"version": version, "settings": settings.to_json()});
            match write_atomically(&dir.join(CONFIG_FILE), &config) {
                Ok(()) => lock(&self.file).version = Some(version),
                Err(e) => eprintln!("{LOG} cannot write {}: {e}", dir.display()),
            }
        }
        eprintln!(
            "{LOG} {}: settings now {}",
            self.process,
            settings.to_json()
        );
        self.write_status();
    }

    /// Applies the directory's settings if another process changed them (looked at most every
    /// [`REFRESH_EVERY`] unless `now`).
    fn refresh(&self, now: bool) {
        let Some(dir) = &self.dir else {
            return;
        };
        let mut file = lock(&self.file);
        if !now && file.checked.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
            return;
        }
        file.checked = Some(Instant::now());
        let Some((version, settings)) = read_config(dir) else {
            return;
        };
        if file.version.as_deref() == Some(version.as_str()) {
            return;
        }
        file.version = Some(version);
        drop(file);
        match Settings::default().patched(&settings) {
            Ok(settings) => self.apply(settings, false),
            Err(e) => eprintln!("{LOG} ignoring {}: {e}", dir.join(CONFIG_FILE).display()),
        }
    }

    /// Writes this process's settings and counters to its status file (with a directory).
    fn write_status(&self) {
        let Some(dir) = &self.dir else {
            return;
        };
        let _one = lock(&self.writing);
        let status = {
            let state = lock(&self.state);
            json!({
                "process": self.process,
                "pid": std::process::id(),
                "config": state.settings.to_json(),
                "counters": state.counters.to_json(),
            })
        };
        let path = dir.join(status_file(&self.process));
        if let Err(e) = write_atomically(&path, &status) {
            eprintln!("{LOG} cannot write {}: {e}", path.display());
        }
    }
}

fn status_file(process: &str) -> String {
    let safe: String = process
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("status-{safe}.json")
}

/// The statuses the other processes wrote.
fn other_statuses(dir: &Path, process: &str) -> Vec<Value> {
    let own = status_file(process);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut statuses: Vec<(String, Value)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("status-") && name.ends_with(".json") && *name != own)
        .filter_map(|name| {
            let text = std::fs::read_to_string(dir.join(&name)).ok()?;
            Some((name, serde_json::from_str(&text).ok()?))
        })
        .collect();
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    statuses.into_iter().map(|(_, status)| status).collect()
}

/// `config.json`'s version and settings, if it is there and readable.
fn read_config(dir: &Path) -> Option<(String, Value)> {
    let text = std::fs::read_to_string(dir.join(CONFIG_FILE)).ok()?;
    let mut value: Value = serde_json::from_str(&text).ok()?;
    let version = value["version"].as_str()?.to_owned();
    Some((version, value["settings"].take()))
}

fn new_version() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{nanos}-{}-{count}", std::process::id())
}

/// Writes through a temporary file and a rename, so that a reader never sees half a file.
fn write_atomically(path: &Path, value: &Value) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, value.to_string())?;
    std::fs::rename(&tmp, path)
}

/// The answer to a request on [`CONTROL_PATH`]: `(status, JSON body)`.
pub fn control(chaos: &Chaos, method: &http::Method, body: &[u8]) -> (http::StatusCode, Value) {
    use http::{Method, StatusCode};
    let refused = |why: String| (StatusCode::BAD_REQUEST, json!({ "message": why }));
    match *method {
        Method::GET => {}
        Method::POST => {
            let patch: Value = match serde_json::from_slice(body) {
                Ok(patch) => patch,
                Err(e) => return refused(format!("not JSON: {e}")),
            };
            if let Err(why) = chaos.update(&patch) {
                return refused(why);
            }
        }
        Method::DELETE => {
            chaos.heal();
        }
        _ => {
            let why = format!("GET, POST or DELETE {CONTROL_PATH}");
            return (StatusCode::METHOD_NOT_ALLOWED, json!({ "message": why }));
        }
    }
    (StatusCode::OK, chaos.status())
}

/// Settings from `LOCAL_CHAOS`, then `flag` (JSON), then `crash_rate`.
pub fn initial_settings(flag: Option<&str>, crash_rate: Option<f64>) -> Result<Settings, String> {
    let mut settings = Settings::default();
    let from_env = std::env::var(CONFIG_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    for (what, text) in [(CONFIG_ENV, from_env.as_deref()), ("--chaos", flag)] {
        if let Some(text) = text {
            let patch: Value =
                serde_json::from_str(text).map_err(|e| format!("{what}: not JSON: {e}"))?;
            settings = settings
                .patched(&patch)
                .map_err(|e| format!("{what}: {e}"))?;
        }
    }
    if let Some(rate) = crash_rate {
        settings = settings.patched(&json!({ "crash_rate": rate }))?;
    }
    Ok(settings)
}

/// `LOCAL_CHAOS_DIR`, if set.
pub fn dir_from_env() -> Option<PathBuf> {
    std::env::var_os(DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_merge_validate_and_heal() {
        let base = Settings::default();
        let next = base
            .patched(&json!({"crash_rate": 0.5, "crash_rates": {"worker": 1}, "seed": 3}))
            .expect("valid");
        assert_eq!(next.crash_rate_for("api"), 0.5);
        assert_eq!(next.crash_rate_for("worker"), 1.0);
        let next = next.patched(&json!({"dupes_rate": 0.1})).expect("valid");
        assert_eq!((next.crash_rate, next.dupes_rate), (0.5, 0.1));
        assert_eq!(
            next.patched(&json!({"crash_after": 3}))
                .map(|s| s.crash_after),
            Ok((3, 3))
        );
        for bad in [
            json!({"crash_rate": 2}),
            json!({"crash_after": [0, 2]}),
            json!({"crash_after": [3, 2]}),
            json!({"dupes": 0.1}),
            json!([1]),
        ] {
            assert!(next.patched(&bad).is_err(), "{bad}");
        }
        let healed = next.healed();
        assert_eq!((healed.crash_rate, healed.dupes_rate), (0.0, 0.0));
        assert!(healed.crash_rates.is_empty());
        assert_eq!(healed.seed, Some(3));
        assert_eq!(
            Settings::default().patched(&next.to_json()),
            Ok(next),
            "to_json reads back"
        );
    }

    #[test]
    fn start_settings_from_the_flags() {
        // (`LOCAL_CHAOS` is read too; the test environment does not set it.)
        let settings = initial_settings(Some(r#"{"dupes_rate": 0.1}"#), Some(0.3));
        let settings = settings.expect("valid");
        assert_eq!((settings.dupes_rate, settings.crash_rate), (0.1, 0.3));
        assert!(initial_settings(Some("{"), None).is_err());
        assert!(initial_settings(None, Some(2.0)).is_err());
        assert!(initial_settings(None, Some(f64::NAN)).is_err());
        assert_eq!(initial_settings(None, None), Ok(Settings::default()));
    }

    #[test]
    fn a_seed_gives_the_same_crash_plans() {
        let plans = || {
            let chaos = Chaos::off("api");
            chaos
                .update(&json!({"seed": 9, "crash_rate": 0.5, "crash_after": [1, 4]}))
                .expect("valid");
            (0..50).map(|_| chaos.plan_crash("api")).collect::<Vec<_>>()
        };
        let first = plans();
        assert_eq!(first, plans());
        let crashed = first.iter().flatten().count();
        assert!((10..=40).contains(&crashed), "{first:?}");
        assert!(first.iter().flatten().all(|n| (1..=4).contains(n)));
        assert!(
            Chaos::off("api").plan_crash("api").is_none(),
            "off by default"
        );
    }

    #[test]
    fn processes_share_settings_and_counters_through_a_directory() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("local-chaos-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let stale = json!({"version": "old", "settings": {"crash_rate": 1}});
        write_atomically(&dir.join(CONFIG_FILE), &stale).expect("written");
        let api = Chaos::new("api", Settings::default(), Some(dir.clone())).expect("chaos");
        let worker = Chaos::new("worker", Settings::default(), Some(dir.clone())).expect("chaos");
        assert_eq!(
            worker.settings().crash_rate,
            0.0,
            "a stale file is not applied"
        );

        api.update(&json!({"dupes_rate": 1})).expect("valid");
        std::thread::sleep(REFRESH_EVERY + Duration::from_millis(20));
        assert_eq!(worker.settings().dupes_rate, 1.0);
        assert!(worker.lose_delete("q"));
        worker.count_crash("worker", false);
        let status = api.status();
        assert_eq!(status["totals"]["duplicates"], 1, "{status}");
        assert_eq!(status["totals"]["crashes_by_function"]["worker"], 1);
        assert_eq!(status["processes"].as_array().map(Vec::len), Some(2));

        api.heal();
        std::thread::sleep(REFRESH_EVERY + Duration::from_millis(20));
        assert_eq!(worker.settings().dupes_rate, 0.0);
        assert!(!worker.lose_delete("q"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn twins_and_held_messages_wait_in_the_mailbox() {
        let message = |id: &str| Message::builder().message_id(id).build();
        let chaos = Chaos::off("worker");
        let fresh = vec![message("a"), message("b")];
        assert_eq!(chaos.scatter("q", fresh.clone()), (fresh.clone(), 0, 0));

        chaos.update(&json!({"twin_rate": 1})).expect("valid");
        assert_eq!(chaos.scatter("q", fresh.clone()), (fresh.clone(), 2, 0));
        assert!(chaos.take_held("other", 10).is_empty());
        assert_eq!(chaos.take_held("q", 1), [message("a")]);
        assert_eq!(chaos.take_held("q", 10), [message("b")]);

        chaos
            .update(&json!({"twin_rate": 0, "holdback_rate": 1}))
            .expect("valid");
        assert_eq!(chaos.scatter("q", fresh.clone()), (vec![], 0, 2));
        let mut held = chaos.take_held("q", 10);
        assert_eq!(held, fresh);
        assert!(!chaos.shuffle("q", &mut held), "reorder_rate is 0");
        chaos.update(&json!({"reorder_rate": 1})).expect("valid");
        assert!(chaos.shuffle("q", &mut held));
        assert_eq!(held, [message("b"), message("a")]);
        let counters = chaos.counters();
        assert_eq!((counters.twins, counters.held_back), (2, 2));
        assert_eq!(counters.shuffled_batches, 1);
    }

    #[test]
    fn counters_sum_and_total() {
        let mut a = Counters {
            crashes: BTreeMap::from([("api".into(), 2)]),
            crashes_after_call: 2,
            lost_deletes: 1,
            ..Counters::default()
        };
        let b = Counters::from_json(
            &Counters {
                crashes: BTreeMap::from([("api".into(), 1), ("worker".into(), 4)]),
                twins: 2,
                held_back: 3,
                ..Counters::default()
            }
            .to_json(),
        );
        a.add(&b);
        let totals = a.totals_json();
        assert_eq!(totals["crashes"], 7);
        assert_eq!(totals["crashes_by_function"]["api"], 3);
        assert_eq!(totals["duplicates"], 3);
        assert_eq!(totals["reordered"], 3);
    }
}
