//! `local`: run the real Lambda binaries locally. See `USAGE`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use local::chaos::{self, Chaos};
use local::pool::HostPool;
use local::runtime::{FunctionHost, FunctionSpec};
use local::{apigw, schedule, sink, sqs};

const USAGE: &str = "\
usage:
  local serve-http [--listen 127.0.0.1:9000] [--name NAME] [--concurrency 4] --bin PATH [--env K=V ...]
      run PATH as a Lambda function behind an emulated API Gateway HTTP API (payload 2.0), in
      N sandboxes each serving one request at a time (default $LOCAL_API_CONCURRENCY or 4);
      GET/POST/DELETE /__local/chaos reads, changes and heals the chaos (see below)
  local cold-start --bin PATH [--runs 20] [--env K=V ...]
      measure process start to first Runtime API poll, N times
  local startup --bins NAME=PATH,NAME=PATH... [--runs 100] [--env K=V ...]
      init of each function (spawn → first /next poll) in one interleaved run, as ratios of the
      first one's median
  local setup-table --table NAME
      create the DynamoDB table (schema of shared::store::schema) at $AWS_ENDPOINT_URL if missing
  local sqs-worker --queue-url URL --bin PATH [--name worker] [--batch 10] [--concurrency 2] [--env K=V ...]
      run PATH as an SQS-triggered function: Lambda's event source mapping with partial batch
      responses (batchItemFailures) on the queue at $AWS_ENDPOINT_URL, N batches in flight
      (default $LOCAL_WORKER_CONCURRENCY or 2)
  local schedule --every SECS --bin PATH [--name scheduler] [--env K=V ...]
      invoke PATH with an EventBridge Scheduled Event every SECS seconds, the first at once
  local bench-scheduler [--items 2000]
      seed N due items into a fresh table at $AWS_ENDPOINT_URL, dispatch them in one scheduler
      run, print items/s and the run time as a ratio of the sum of its round trips
  local bench-apps [--apps 10000] [--starts 200]
      the median start of one app, warm, in a table holding only it and in one holding N apps
      (at $AWS_ENDPOINT_URL), interleaved in one run, and their ratio
  local notice-sink --listen 127.0.0.1:PORT [--fail-first N] [--fail-rate R] [--seed S]
      stand in for a merchant's notifyUrl: log each POST, answer SUCCESS (the first N, then a
      share R of the others drawn with seed S: FAIL, HTTP 500); GET /received lists every body
      received as JSON, GET /deliveries each with its path and the status it was answered

chaos (serve-http, sqs-worker, schedule; off unless asked for): [--chaos JSON] [--crash-rate R]
  after $LOCAL_CHAOS (JSON), e.g. {\"crash_rate\":0.02,\"seed\":1,\"dupes_rate\":0.1}: sandboxes
  killed after an outgoing call, SQS duplicates and reordering; $LOCAL_CHAOS_DIR (one directory
  for all the processes of a system) lets the front door's /__local/chaos switch them all";

/// How long a function gets to make its first poll of the Runtime API.
const READY_LIMIT: Duration = Duration::from_secs(30);

enum CliError {
    /// Bad command line: usage is printed, exit code 2.
    Usage(String),
    /// Anything else: exit code 1.
    Failed(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("", &[][..]),
    };
    let result = match command {
        "serve-http" => serve_http(rest).await,
        "cold-start" => cold_start(rest).await,
        "startup" => startup(rest).await,
        "setup-table" => setup_table(rest).await,
        "sqs-worker" => sqs_worker(rest).await,
        "schedule" => schedule(rest).await,
        "notice-sink" => notice_sink(rest).await,
        "bench-scheduler" => bench_scheduler(rest).await,
        "bench-apps" => bench_apps(rest).await,
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "" => Err(CliError::Usage("missing command".into())),
        other => Err(CliError::Usage(format!("unknown command `{other}`"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("local: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(msg)) => {
            eprintln!("local: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// How many sandboxes serve at once: `--concurrency`, else `LOCAL_API_CONCURRENCY`, else 4
/// (api) or 2 (worker pollers).
fn concurrency(flags: &Flags, env: &str, default: usize) -> Result<usize, CliError> {
    let given = flags
        .get("--concurrency")
        .map(str::to_owned)
        .or_else(|| std::env::var(env).ok());
    match given {
        None => Ok(default),
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| CliError::Usage(format!("concurrency: `{n}` is not 1 to 64"))),
    }
}

/// Starts `count` sandboxes of `spec`; `None` when a stop came first.
async fn start_hosts(
    spec: &FunctionSpec,
    count: usize,
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Result<Option<Vec<FunctionHost>>, CliError> {
    let mut hosts = Vec::with_capacity(count);
    for _ in 0..count {
        match start_host(spec.clone(), stop).await? {
            Some(host) => hosts.push(host),
            None => {
                for host in hosts {
                    host.shutdown().await;
                }
                return Ok(None);
            }
        }
    }
    Ok(Some(hosts))
}

async fn bench_scheduler(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, &["--items"])?;
    let items: usize = flags
        .get("--items")
        .unwrap_or("2000")
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| CliError::Usage("--items: a positive number".into()))?;
    println!(
        "{}",
        local::bench::scheduler(items)
            .await
            .map_err(CliError::Failed)?
    );
    Ok(())
}

async fn bench_apps(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, &["--apps", "--starts"])?;
    let number = |name: &str, default: &str| -> Result<usize, CliError> {
        flags
            .get(name)
            .unwrap_or(default)
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| CliError::Usage(format!("{name}: a positive number")))
    };
    let (apps, starts) = (number("--apps", "10000")?, number("--starts", "200")?);
    println!(
        "{}",
        local::bench_apps::apps(apps, starts)
            .await
            .map_err(CliError::Failed)?
    );
    Ok(())
}

async fn startup(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, &["--bins", "--runs"])?;
    let runs: usize = flags
        .get("--runs")
        .unwrap_or("100")
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| CliError::Usage("--runs: a positive number".into()))?;
    let functions = flags
        .get("--bins")
        .ok_or_else(|| CliError::Usage("--bins is required".into()))?
        .split(',')
        .map(|pair| {
            pair.split_once('=')
                .filter(|(name, path)| !name.is_empty() && !path.is_empty())
                .map(|(name, path)| (name.to_owned(), std::path::PathBuf::from(path)))
                .ok_or_else(|| CliError::Usage(format!("--bins: `{pair}` is not NAME=PATH")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let report = local::bench::startup(&functions, &flags.env, runs)
        .await
        .map_err(CliError::Failed)?;
    print!("{report}");
    Ok(())
}

async fn serve_http(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(
        args,
        &[
            "--listen",
            "--name",
            "--bin",
            "--concurrency",
            "--chaos",
            "--crash-rate",
        ],
    )?;
    let listen: SocketAddr = flags
        .get("--listen")
        .unwrap_or("127.0.0.1:9000")
        .parse()
        .map_err(|e| CliError::Usage(format!("--listen: {e}")))?;
    let mut spec = flags.spec()?;
    if let Some(name) = flags.get("--name") {
        spec.name = name.to_owned();
    }
    spec.chaos = Some(flags.chaos(&spec.name)?);
    // Installed now so that a signal is never missed; Ctrl-C while starting stops too.
    let sandboxes = concurrency(&flags, "LOCAL_API_CONCURRENCY", 4)?;
    let mut stop = std::pin::pin!(apigw::shutdown_signal());
    let Some(hosts) = start_hosts(&spec, sandboxes, &mut stop).await? else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {listen}: {e}")))?;
    let bound = listener.local_addr().map_err(failed)?;
    println!("listening on http://{bound} ({sandboxes} sandboxes)");
    apigw::serve_listener(listener, Arc::new(HostPool::new(hosts)), &mut stop).await;
    Ok(())
}

async fn cold_start(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, &["--bin", "--runs"])?;
    let runs: usize =
        match flags.get("--runs") {
            None => 20,
            Some(n) => n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                CliError::Usage(format!("--runs: `{n}` is not a positive number"))
            })?,
        };
    let mut spec = flags.spec()?;
    spec.quiet = true;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let host = FunctionHost::start(spec.clone()).await.map_err(failed)?;
        let ready = host.wait_ready(READY_LIMIT).await;
        host.shutdown().await;
        times.push(ready.map_err(failed)?.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    // Nearest-rank percentiles; the median of an even count is the mean of the middle two.
    let nearest = |p: f64| times[((p * runs as f64).ceil() as usize).clamp(1, runs) - 1];
    let median = if runs % 2 == 1 {
        times[runs / 2]
    } else {
        (times[runs / 2 - 1] + times[runs / 2]) / 2.0
    };
    println!(
        "cold start (spawn → first /next poll) over {runs} runs: min {:.1} ms, median {median:.1} ms, p90 {:.1} ms, max {:.1} ms",
        times[0],
        nearest(0.9),
        times[runs - 1],
    );
    Ok(())
}

async fn setup_table(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, &["--table"])?;
    let table = flags
        .get("--table")
        .ok_or_else(|| CliError::Usage("--table is required".into()))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    if client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
    {
        println!("table {table} exists");
        return Ok(());
    }
    shared::store::schema::create_table(&client, table)
        .await
        .map_err(failed)?;
    println!("table {table} created");
    Ok(())
}

async fn sqs_worker(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(
        args,
        &[
            "--queue-url",
            "--bin",
            "--name",
            "--batch",
            "--concurrency",
            "--chaos",
            "--crash-rate",
        ],
    )?;
    let queue_url = flags
        .get("--queue-url")
        .ok_or_else(|| CliError::Usage("--queue-url is required".into()))?
        .to_owned();
    let batch = match flags.get("--batch") {
        None => sqs::MAX_BATCH,
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| (1..=sqs::MAX_BATCH).contains(n))
            .ok_or_else(|| CliError::Usage(format!("--batch: `{n}` is not 1 to 10")))?,
    };
    let mut spec = flags.spec()?;
    spec.name = flags.get("--name").unwrap_or("worker").to_owned();
    spec.chaos = Some(flags.chaos(&spec.name)?);
    // Lambda's poller keeps several batches in flight, each in a sandbox of its own.
    let pollers = concurrency(&flags, "LOCAL_WORKER_CONCURRENCY", 2)?;
    let mut stop = std::pin::pin!(apigw::shutdown_signal());
    let Some(hosts) = start_hosts(&spec, pollers, &mut stop).await? else {
        return Ok(());
    };
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let (stopped, watch) = tokio::sync::watch::channel(false);
    let mut running = tokio::task::JoinSet::new();
    for host in hosts {
        let (client, queue_url, mut watch) = (client.clone(), queue_url.clone(), watch.clone());
        running.spawn(async move {
            let stop = async move {
                let _ = watch.wait_for(|s| *s).await;
            };
            sqs::run_sqs_worker(Arc::new(host), client, queue_url, batch, stop).await
        });
    }
    drop(watch);
    let mut result = Ok(());
    tokio::select! {
        () = stop.as_mut() => {}
        Some(first) = running.join_next() => {
            result = first.map_err(failed).and_then(|r| r.map_err(failed));
        }
    }
    let _ = stopped.send(true);
    while let Some(done) = running.join_next().await {
        if let Ok(Err(e)) = done
            && result.is_ok()
        {
            result = Err(failed(e));
        }
    }
    result
}

async fn schedule(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(
        args,
        &["--every", "--bin", "--name", "--chaos", "--crash-rate"],
    )?;
    let every = flags
        .get("--every")
        .ok_or_else(|| CliError::Usage("--every is required".into()))?;
    let every: u64 =
        every.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            CliError::Usage(format!("--every: `{every}` is not a positive number"))
        })?;
    let mut spec = flags.spec()?;
    spec.name = flags.get("--name").unwrap_or("scheduler").to_owned();
    spec.chaos = Some(flags.chaos(&spec.name)?);
    let mut stop = std::pin::pin!(apigw::shutdown_signal());
    let Some(host) = start_host(spec, &mut stop).await? else {
        return Ok(());
    };
    let every = Duration::from_secs(every);
    schedule::run_schedule(Arc::new(host), every, stop)
        .await
        .map_err(failed)
}

async fn notice_sink(args: &[String]) -> Result<(), CliError> {
    let flags = Flags::parse(args, &["--listen", "--fail-first", "--fail-rate", "--seed"])?;
    let listen = flags
        .get("--listen")
        .ok_or_else(|| CliError::Usage("--listen is required".into()))?;
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| CliError::Usage(format!("--listen: {e}")))?;
    if !listen.ip().is_loopback() {
        return Err(CliError::Usage(format!(
            "--listen: {listen} is not a loopback address (use 127.0.0.1)"
        )));
    }
    let fail_first: usize = match flags.get("--fail-first") {
        None => 0,
        Some(n) => n
            .parse()
            .map_err(|_| CliError::Usage(format!("--fail-first: `{n}` is not a number")))?,
    };
    let fail_rate: f64 = match flags.get("--fail-rate") {
        None => 0.0,
        Some(r) => r
            .parse()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| CliError::Usage(format!("--fail-rate: `{r}` is not 0 to 1")))?,
    };
    let seed: Option<u64> = match flags.get("--seed") {
        None => None,
        Some(n) => Some(
            n.parse()
                .map_err(|_| CliError::Usage(format!("--seed: `{n}` is not a number")))?,
        ),
    };
    let options = sink::SinkOptions {
        fail_first,
        fail_rate,
        seed,
    };
    let stop = apigw::shutdown_signal();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {listen}: {e}")))?;
    let bound = listener.local_addr().map_err(failed)?;
    println!("listening on http://{bound}");
    let received = sink::serve_sink_with(listener, options, stop)
        .stopped()
        .await;
    eprintln!("[notice-sink] stopped after {} notices", received.len());
    Ok(())
}

/// Starts the function and waits until it polls for its first event. `None` when `stop`
/// completed first (the function is then shut down).
async fn start_host(
    spec: FunctionSpec,
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Result<Option<FunctionHost>, CliError> {
    let host = FunctionHost::start(spec).await.map_err(failed)?;
    tokio::select! {
        ready = host.wait_ready(READY_LIMIT) => {
            ready.map_err(failed)?;
            Ok(Some(host))
        }
        () = stop.as_mut() => {
            host.shutdown().await;
            Ok(None)
        }
    }
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// `--flag value` pairs (each at most once) plus any number of `--env K=V`.
struct Flags {
    values: Vec<(String, String)>,
    env: Vec<(String, String)>,
}

impl Flags {
    fn parse(args: &[String], known: &[&str]) -> Result<Self, CliError> {
        let mut flags = Flags {
            values: Vec::new(),
            env: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            if flag != "--env" && !known.contains(&flag.as_str()) {
                return Err(CliError::Usage(format!("unknown argument `{flag}`")));
            }
            let value = args
                .next()
                .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))?;
            if flag == "--env" {
                let (k, v) = value
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| CliError::Usage(format!("--env `{value}` is not K=V")))?;
                flags.env.push((k.to_owned(), v.to_owned()));
            } else if flags.get(flag).is_some() {
                return Err(CliError::Usage(format!("{flag} given twice")));
            } else {
                flags.values.push((flag.clone(), value.clone()));
            }
        }
        Ok(flags)
    }

    fn get(&self, flag: &str) -> Option<&str> {
        let found = self.values.iter().find(|(f, _)| f == flag);
        found.map(|(_, v)| v.as_str())
    }

    /// The chaos of the function `name` (see `local::chaos`): `$LOCAL_CHAOS`, `--chaos`,
    /// `--crash-rate`, shared through `$LOCAL_CHAOS_DIR` if set. Always made (if only to answer
    /// the control endpoint), since it may be switched on at run time.
    fn chaos(&self, name: &str) -> Result<Arc<Chaos>, CliError> {
        let crash_rate = match self.get("--crash-rate") {
            None => None,
            Some(r) => Some(r.parse::<f64>().map_err(|_| {
                CliError::Usage(format!("--crash-rate: `{r}` is not a number from 0 to 1"))
            })?),
        };
        let settings =
            chaos::initial_settings(self.get("--chaos"), crash_rate).map_err(CliError::Usage)?;
        let dir = chaos::dir_from_env();
        let shown = dir.as_ref().map_or_else(
            || "this process only".to_owned(),
            |d| d.display().to_string(),
        );
        let chaos = Chaos::new(name, settings, dir)
            .map_err(|e| CliError::Failed(format!("{}: {e}", chaos::DIR_ENV)))?;
        eprintln!(
            "[chaos] {name}: {} (shared through {shown})",
            chaos.settings().to_json()
        );
        Ok(Arc::new(chaos))
    }

    /// A spec from `--bin` (required; the function name defaults to the file name) and `--env`.
    fn spec(&self) -> Result<FunctionSpec, CliError> {
        let bin = self
            .get("--bin")
            .ok_or_else(|| CliError::Usage("--bin is required".into()))?;
        let name = Path::new(bin)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("function");
        let mut spec = FunctionSpec::new(name, bin);
        spec.env = self.env.clone();
        Ok(spec)
    }
}
