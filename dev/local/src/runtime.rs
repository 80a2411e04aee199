//! An emulator of the AWS Lambda Runtime API for one function, and the host that runs the real
//! function binary as a child process against it (one warm sandbox, one invocation at a time).
//!
//! With [`FunctionSpec::chaos`], the sandbox reaches AWS and the channels through proxies that
//! count its outgoing calls, and an invocation may be killed right after one of them (see
//! [`crate::chaos`]); a killed sandbox is replaced by a fresh one for the next invocation, as on
//! Lambda. A process that dies by itself (an exit, an init error) is not replaced: that is a bug
//! in the function, and every later invocation fails with it until the runner is restarted.
//!
//! The endpoints and headers are the ones `lambda_runtime` 1.5 uses (see its `requests.rs`,
//! `constants.rs` and `types.rs`): it long-polls `GET /2018-06-01/runtime/invocation/next`, reads
//! the request id, deadline, function ARN and trace id from the response headers, then posts the
//! result to `.../invocation/{id}/response` or `.../invocation/{id}/error`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::chaos::Chaos;

mod proxy;

/// Lambda's default function timeout in the console is 3 s; API Gateway's integration limit is
/// 30 s, which is what a local HTTP caller would experience, so that is the default here.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Lambda's default memory size.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// The placeholder account id used in ARNs and API Gateway events.
pub const ACCOUNT_ID: &str = "000000000000";

const API_PREFIX: &str = "/2018-06-01/runtime";

/// What to run and how.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function name (`AWS_LAMBDA_FUNCTION_NAME`, the ARN, the log group).
    pub name: String,
    /// The compiled function binary (what Lambda calls `bootstrap`).
    pub bin: PathBuf,
    /// Extra environment variables, set after (so overriding) the Lambda ones.
    pub env: Vec<(String, String)>,
    /// Per-invocation timeout, measured from `invoke` (queueing included).
    pub timeout: Duration,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (informational: nothing is enforced).
    pub memory_mb: u32,
    /// Send the child's stdout and stderr to /dev/null instead of this terminal.
    pub quiet: bool,
    /// Crash injection: with it, each sandbox's outgoing calls go through counting proxies and
    /// an invocation may be killed after one of them (see [`crate::chaos`]). `None`: no proxies.
    pub chaos: Option<Arc<Chaos>>,
}

impl FunctionSpec {
    /// A spec with the defaults: no extra env, 30 s timeout, 128 MB, logs shown.
    pub fn new(name: impl Into<String>, bin: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            bin: bin.into(),
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            memory_mb: DEFAULT_MEMORY_MB,
            quiet: false,
            chaos: None,
        }
    }
}

/// The outcome of one invocation, as the function reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// The body posted to `/invocation/{id}/response`.
    Response(Vec<u8>),
    /// The function posted to `/invocation/{id}/error`: the `Lambda-Runtime-Function-Error-Type`
    /// header (`unhandled` with lambda_runtime) and the error JSON body.
    Error { error_type: String, body: Vec<u8> },
}

/// Why an invocation (or the host) failed. Cloneable: one failure is given to every waiter.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HostError {
    #[error("cannot bind the Runtime API on 127.0.0.1: {0}")]
    Bind(String),
    #[error("cannot start function `{name}` from {bin}: {reason}")]
    Spawn {
        name: String,
        bin: String,
        reason: String,
    },
    #[error("function `{name}`: the function process exited ({status})")]
    Exited { name: String, status: String },
    #[error("function `{name}` failed to initialise ({error_type}): {body}")]
    InitFailed {
        name: String,
        error_type: String,
        body: String,
    },
    #[error("function `{name}` timed out after {timeout:?}")]
    Timeout { name: String, timeout: Duration },
    #[error("function `{name}` is not ready: no poll of /invocation/next within {waited:?}")]
    NotReady { name: String, waited: Duration },
    #[error("function `{name}`: the host was shut down")]
    ShutDown { name: String },
    /// Chaos killed the sandbox during this invocation (as Lambda kills one at a timeout or out
    /// of memory); the next invocation gets a fresh sandbox.
    #[error("function `{name}`: the sandbox was killed {reason} (injected crash)")]
    Killed { name: String, reason: String },
}

type Reply = oneshot::Sender<Result<Invocation, HostError>>;

struct Queued {
    event: Bytes,
    reply: Reply,
}

#[derive(Default)]
struct State {
    /// Events waiting for the function's next poll, oldest first.
    queue: VecDeque<Queued>,
    /// Events handed to the function, by request id.
    in_flight: HashMap<String, Reply>,
    /// Once set (init error, process exit, shutdown), every pending and later invocation fails.
    fatal: Option<HostError>,
    /// The invocation the function runs now (one at a time), for crash injection.
    plan: Option<Plan>,
}

/// The invocation in progress: its outgoing calls so far and the one it dies after, if any.
struct Plan {
    id: String,
    crash_after: Option<u32>,
    calls: u32,
    fired: bool,
}

struct Shared {
    name: String,
    addr: SocketAddr,
    arn: String,
    timeout: Duration,
    state: Mutex<State>,
    /// Wakes the `/next` long poll when an event is queued or the host fails.
    queued: Notify,
    /// Bumped on the first poll and on a fatal error (for `wait_ready`).
    changed: watch::Sender<()>,
    spawned_at: OnceLock<Instant>,
    first_poll: OnceLock<Duration>,
    /// Set once the process has exited and been reaped.
    reaped: OnceLock<()>,
    /// Asks the monitor task to kill the process.
    kill: Notify,
    /// Set when chaos killed the process: the sandbox is then replaced.
    killed: OnceLock<()>,
    chaos: Option<Arc<Chaos>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the first fatal error (later ones are ignored) and fails everything pending.
    fn fail_all(&self, error: HostError) {
        let (queued, in_flight, fatal) = {
            let mut st = self.lock();
            let fatal = st.fatal.get_or_insert(error).clone();
            let queued = std::mem::take(&mut st.queue);
            let in_flight = std::mem::take(&mut st.in_flight);
            (queued, in_flight, fatal)
        };
        for q in queued {
            let _ = q.reply.send(Err(fatal.clone()));
        }
        for (_, reply) in in_flight {
            let _ = reply.send(Err(fatal.clone()));
        }
        self.queued.notify_one();
        self.changed.send_replace(());
    }

    /// Counts an outgoing call of the invocation in progress; the reason to kill the sandbox
    /// once it is answered, when it is the planned one. Calls made outside an invocation (at
    /// init) are not counted.
    fn outgoing_call(&self, label: &str) -> Option<String> {
        let mut st = self.lock();
        let plan = st.plan.as_mut()?;
        plan.calls += 1;
        if plan.fired || plan.crash_after != Some(plan.calls) {
            return None;
        }
        plan.fired = true;
        Some(format!(
            "right after its outgoing call #{} ({label}) was answered",
            plan.calls
        ))
    }

    /// The reason to kill the sandbox instead of taking invocation `id`'s answer: its crash was
    /// planned after more calls than it made.
    fn crash_due_at_response(&self, id: &str) -> Option<String> {
        let mut st = self.lock();
        let plan = st.plan.as_mut().filter(|p| p.id == id && !p.fired)?;
        let after = plan.crash_after?;
        plan.fired = true;
        Some(format!(
            "as it posted its answer, after {} outgoing calls (planned after call #{after})",
            plan.calls
        ))
    }

    /// Kills the process with SIGKILL (chaos), fails what it was running with
    /// [`HostError::Killed`], and waits (at most 5 s) until it is gone, so that nothing it was
    /// about to do happens after this returns.
    async fn crash(&self, reason: String, at_response: bool) {
        let mut changed = self.changed.subscribe();
        if self.killed.set(()).is_ok() {
            if let Some(chaos) = &self.chaos {
                chaos.count_crash(&self.name, at_response);
            }
            eprintln!("[local] chaos: killing `{}` {reason}", self.name);
            self.fail_all(HostError::Killed {
                name: self.name.clone(),
                reason,
            });
            self.kill.notify_one();
        }
        let reaped =
            async { while self.reaped.get().is_none() && changed.changed().await.is_ok() {} };
        let _ = tokio::time::timeout(Duration::from_secs(5), reaped).await;
    }
}

/// One function: its sandbox (a process and the Runtime API it talks to), replaced by a fresh one
/// when chaos killed it. Kills the process on drop.
pub struct FunctionHost {
    spec: FunctionSpec,
    current: Mutex<Arc<Sandbox>>,
    /// Held while a sandbox is replaced (one replacement at a time) and by `stop` (none after).
    replacing: tokio::sync::Mutex<()>,
    stopped: AtomicBool,
}

impl FunctionHost {
    /// Binds the Runtime API on 127.0.0.1 (OS-assigned port) and spawns the function binary
    /// with the environment Lambda gives a custom runtime. Does not wait for the function to be
    /// ready: see [`FunctionHost::wait_ready`].
    pub async fn start(spec: FunctionSpec) -> Result<Self, HostError> {
        let sandbox = Sandbox::start(&spec).await?;
        Ok(Self {
            spec,
            current: Mutex::new(Arc::new(sandbox)),
            replacing: tokio::sync::Mutex::new(()),
            stopped: AtomicBool::new(false),
        })
    }

    /// The function name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The per-invocation timeout.
    pub fn timeout(&self) -> Duration {
        self.spec.timeout
    }

    /// The chaos the function runs with, if any.
    pub fn chaos(&self) -> Option<&Arc<Chaos>> {
        self.spec.chaos.as_ref()
    }

    /// The Runtime API address given to the current process as `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> SocketAddr {
        self.sandbox_now().shared.addr
    }

    /// Time from spawning the current process to its first `GET .../invocation/next` (cold
    /// start).
    pub fn first_poll_after(&self) -> Option<Duration> {
        self.sandbox_now().shared.first_poll.get().copied()
    }

    /// Waits until the function first polls for an event and returns the cold start time; fails
    /// if the process reports an init error, exits, or does not poll within `limit`.
    pub async fn wait_ready(&self, limit: Duration) -> Result<Duration, HostError> {
        self.sandbox_now().wait_ready(limit).await
    }

    /// Queues `event` and waits for the function's answer. Events are handed out in FIFO order,
    /// one at a time. The timeout covers queueing and execution, like API Gateway's integration
    /// timeout. Unlike Lambda, a timed-out invocation does not reset the sandbox: the process
    /// keeps running it and its late answer is discarded. After chaos killed the sandbox, a
    /// fresh one is started for this invocation (its cold start counts in the timeout).
    pub async fn invoke(&self, event: serde_json::Value) -> Result<Invocation, HostError> {
        let sandbox = self.sandbox().await?;
        sandbox.invoke(event).await
    }

    /// Kills the process and waits (at most 5 s) until it has exited and been reaped. Pending
    /// and later invocations fail as shut down.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _none_after = self.replacing.lock().await;
        self.sandbox_now().stop().await;
    }

    /// [`FunctionHost::stop`], then stops the Runtime API.
    pub async fn shutdown(self) {
        self.stop().await;
        self.sandbox_now().server.abort();
    }

    fn sandbox_now(&self) -> Arc<Sandbox> {
        Arc::clone(&self.current.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The sandbox to invoke: the current one, or a fresh one when chaos killed it.
    async fn sandbox(&self) -> Result<Arc<Sandbox>, HostError> {
        let replaceable = |sandbox: &Sandbox| {
            sandbox.shared.killed.get().is_some() && !self.stopped.load(Ordering::SeqCst)
        };
        let current = self.sandbox_now();
        if !replaceable(&current) {
            return Ok(current);
        }
        let _one = self.replacing.lock().await;
        let current = self.sandbox_now();
        if !replaceable(&current) {
            return Ok(current);
        }
        let fresh = Arc::new(Sandbox::start(&self.spec).await?);
        eprintln!(
            "[local] `{}`: a fresh sandbox replaces the killed one",
            self.spec.name
        );
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&fresh);
        Ok(fresh)
    }
}

/// One function process, the Runtime API it talks to and the proxies of its outgoing calls.
/// Kills the process on drop.
struct Sandbox {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
    proxies: Vec<JoinHandle<()>>,
}

impl Sandbox {
    async fn start(spec: &FunctionSpec) -> Result<Self, HostError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| HostError::Bind(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HostError::Bind(e.to_string()))?;
        let region = default_region();
        let shared = Arc::new(Shared {
            arn: format!(
                "arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{}",
                spec.name
            ),
            name: spec.name.clone(),
            addr,
            timeout: spec.timeout,
            state: Mutex::new(State::default()),
            queued: Notify::new(),
            changed: watch::Sender::new(()),
            spawned_at: OnceLock::new(),
            first_poll: OnceLock::new(),
            reaped: OnceLock::new(),
            kill: Notify::new(),
            killed: OnceLock::new(),
            chaos: spec.chaos.clone(),
        });
        let (proxied_env, proxies) = match spec.chaos {
            Some(_) => proxy::start(spec, &shared).await?,
            None => (Vec::new(), Vec::new()),
        };
        let server = tokio::spawn(serve_runtime_api(listener, Arc::clone(&shared)));

        let mut cmd = Command::new(&spec.bin);
        cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &region)
            .env("AWS_DEFAULT_REGION", &region)
            // One sandbox serves one invocation at a time, whatever the developer's shell says.
            .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            // After the spec's: the proxies stand in for the URLs it gave.
            .envs(proxied_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if spec.quiet {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        // Cold start is measured from here (just before spawn) to the first `/next` poll.
        let _ = shared.spawned_at.set(Instant::now());
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                server.abort();
                proxies.iter().for_each(JoinHandle::abort);
                return Err(HostError::Spawn {
                    name: spec.name.clone(),
                    bin: spec.bin.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        tokio::spawn(watch_child(child, Arc::clone(&shared)));
        Ok(Self {
            shared,
            server,
            proxies,
        })
    }

    async fn wait_ready(&self, limit: Duration) -> Result<Duration, HostError> {
        let mut changed = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(d) = self.shared.first_poll.get().copied() {
                return Ok(d);
            }
            if let Some(fatal) = self.shared.lock().fatal.clone() {
                return Err(fatal);
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(self.shut_down_error()),
                Err(_) => {
                    return Err(HostError::NotReady {
                        name: self.shared.name.clone(),
                        waited: limit,
                    });
                }
            }
        }
    }

    async fn invoke(&self, event: serde_json::Value) -> Result<Invocation, HostError> {
        let (reply, outcome) = oneshot::channel();
        {
            let mut st = self.shared.lock();
            if let Some(fatal) = &st.fatal {
                return Err(fatal.clone());
            }
            st.queue.push_back(Queued {
                event: Bytes::from(event.to_string()),
                reply,
            });
        }
        self.shared.queued.notify_one();
        match tokio::time::timeout(self.shared.timeout, outcome).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.shut_down_error()),
            // Dropping `outcome` closes the reply: a still-queued event is skipped by `/next`.
            Err(_) => Err(HostError::Timeout {
                name: self.shared.name.clone(),
                timeout: self.shared.timeout,
            }),
        }
    }

    async fn stop(&self) {
        let mut changed = self.shared.changed.subscribe();
        self.shared.kill.notify_one();
        let reaped = async {
            while self.shared.reaped.get().is_none() && changed.changed().await.is_ok() {}
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), reaped).await;
    }

    fn shut_down_error(&self) -> HostError {
        HostError::ShutDown {
            name: self.shared.name.clone(),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The monitor task kills and reaps the child; if the runtime is gone with the task,
        // `kill_on_drop` still kills it.
        self.shared.kill.notify_one();
        self.server.abort();
        self.proxies.iter().for_each(JoinHandle::abort);
    }
}

/// Waits for the child to exit (or to be killed on request) and fails everything pending.
async fn watch_child(mut child: Child, shared: Arc<Shared>) {
    let status = tokio::select! {
        status = child.wait() => status,
        () = shared.kill.notified() => {
            // After a chaos kill this is ignored: the first fatal error is the one kept.
            shared.fail_all(HostError::ShutDown { name: shared.name.clone() });
            let _ = child.start_kill();
            child.wait().await
        }
    };
    let status = match status {
        Ok(status) => status.to_string(),
        Err(e) => format!("exit status unknown: {e}"),
    };
    let _ = shared.reaped.set(());
    shared.fail_all(HostError::Exited {
        name: shared.name.clone(),
        status,
    });
}

async fn serve_runtime_api(listener: TcpListener, shared: Arc<Shared>) {
    // Connections live in the set so that aborting this task closes them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                let service = service_fn(move |req| {
                    let shared = Arc::clone(&shared);
                    async move { Ok::<_, Infallible>(route(&shared, req).await) }
                });
                connections.spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type ApiResponse = Response<Full<Bytes>>;

async fn route(shared: &Shared, req: Request<Incoming>) -> ApiResponse {
    let (parts, body) = req.into_parts();
    let Some(rest) = parts.uri.path().strip_prefix(API_PREFIX) else {
        return not_found();
    };
    if parts.method == Method::GET && rest == "/invocation/next" {
        return next_invocation(shared).await;
    }
    if parts.method != Method::POST {
        return not_found();
    }
    let error_type = parts
        .headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled")
        .to_owned();
    let Ok(body) = body.collect().await.map(|b| Vec::from(b.to_bytes())) else {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"errorMessage":"unreadable body"}"#,
        );
    };
    if rest == "/init/error" {
        shared.fail_all(HostError::InitFailed {
            name: shared.name.clone(),
            error_type,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        return accepted();
    }
    let target = rest
        .strip_prefix("/invocation/")
        .and_then(|r| r.split_once('/'));
    let (id, outcome) = match target {
        Some((id, "response")) => (id, Invocation::Response(body)),
        Some((id, "error")) => (id, Invocation::Error { error_type, body }),
        _ => return not_found(),
    };
    if let Some(reason) = shared.crash_due_at_response(id) {
        shared.crash(reason, true).await;
        return accepted(); // read by nobody: the process is gone
    }
    complete(shared, id, outcome)
}

/// The long poll: answers with the oldest queued event, waiting as long as it takes.
async fn next_invocation(shared: &Shared) -> ApiResponse {
    if let Some(spawned_at) = shared.spawned_at.get()
        && shared.first_poll.set(spawned_at.elapsed()).is_ok()
    {
        shared.changed.send_replace(());
    }
    let (id, event) = loop {
        // Created before checking the queue; `notify_one` keeps a permit if nobody waits yet.
        let notified = shared.queued.notified();
        {
            let mut st = shared.lock();
            if let Some(fatal) = &st.fatal {
                let body = serde_json::json!({"errorType": "Runtime.Unavailable", "errorMessage": fatal.to_string()});
                return json(StatusCode::INTERNAL_SERVER_ERROR, body.to_string());
            }
            let mut handed = None;
            while let Some(q) = st.queue.pop_front() {
                if q.reply.is_closed() {
                    continue; // the caller timed out or went away while queued
                }
                let id = uuid_v4();
                st.in_flight.insert(id.clone(), q.reply);
                handed = Some((id, q.event));
                break;
            }
            if let Some(handed) = handed {
                break handed;
            }
        }
        notified.await;
    };
    // Drawn outside the state lock (the chaos may read its shared settings from disk); the
    // function cannot call anything before it has this answer.
    let crash_after = shared
        .chaos
        .as_ref()
        .and_then(|chaos| chaos.plan_crash(&shared.name));
    shared.lock().plan = Some(Plan {
        id: id.clone(),
        crash_after,
        calls: 0,
        fired: false,
    });
    event_response(shared, &id, event)
}

fn event_response(shared: &Shared, id: &str, event: Bytes) -> ApiResponse {
    let deadline_ms = epoch_ms().saturating_add(shared.timeout.as_millis());
    let response = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", id)
        .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
        .header("lambda-runtime-invoked-function-arn", &shared.arn)
        .header("lambda-runtime-trace-id", trace_id())
        .body(Full::new(event));
    response.unwrap_or_else(|_| json(StatusCode::INTERNAL_SERVER_ERROR, "{}"))
}

fn complete(shared: &Shared, id: &str, outcome: Invocation) -> ApiResponse {
    let reply = {
        let mut st = shared.lock();
        if st.plan.as_ref().is_some_and(|p| p.id == id) {
            st.plan = None;
        }
        st.in_flight.remove(id)
    };
    match reply {
        Some(reply) => {
            let _ = reply.send(Ok(outcome)); // the caller may have timed out: then it is dropped
            accepted()
        }
        // What Lambda answers for an unknown (or already completed) request id.
        None => json(
            StatusCode::BAD_REQUEST,
            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
        ),
    }
}

fn accepted() -> ApiResponse {
    json(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

fn not_found() -> ApiResponse {
    json(
        StatusCode::NOT_FOUND,
        r#"{"errorMessage":"not found","errorType":"NotFound"}"#,
    )
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> ApiResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The region given to functions: `$AWS_REGION`, else `$AWS_DEFAULT_REGION`, else `us-east-1`.
pub fn default_region() -> String {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// A random UUID v4, the shape of Lambda's request ids (and of EventBridge event ids).
pub(crate) fn uuid_v4() -> String {
    let n: u128 = rand::rng().random();
    let n = (n & !(0xf << 76)) | (0x4 << 76); // version 4
    let n = (n & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// An X-Ray trace header like Lambda's: `Root=1-<epoch secs hex>-<96-bit id>;Parent=...;Sampled=0`.
pub(crate) fn trace_id() -> String {
    let mut rng = rand::rng();
    let root: u128 = rng.random::<u128>() >> 32;
    let parent: u64 = rng.random();
    let secs = epoch_ms() / 1000;
    format!("Root=1-{secs:08x}-{root:024x};Parent={parent:016x};Sampled=0")
}
