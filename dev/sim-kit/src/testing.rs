//! Transport helpers for the simulators' end-to-end tests: a raw HTTP/1.1 exchange over TCP,
//! running the binaries, and the shutdown check. What is signed and verified stays in each test.

use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How long a binary may take to print its first line.
const START_LIMIT: Duration = Duration::from_secs(10);

/// An HTTP answer as received.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// One request with `Connection: close` and `Content-Length`; the whole exchange is bounded by
/// `limit`. Err when no answer came (the connection was closed or timed out).
pub async fn http_exchange(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &str,
    limit: Duration,
) -> Result<RawAnswer, String> {
    let io = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8(raw).map_err(|e| e.to_string())?;
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or("no HTTP answer (connection closed)")?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(RawAnswer {
            status,
            headers,
            body: body.to_string(),
        })
    };
    tokio::time::timeout(limit, io)
        .await
        .map_err(|_| "client timeout".to_string())?
}

/// Runs `exe keygen`: (private, public) from its `private=` and `public=` lines.
pub async fn keygen(exe: &str) -> Result<(String, String), String> {
    let out = tokio::time::timeout(START_LIMIT, Command::new(exe).arg("keygen").output())
        .await
        .map_err(|_| "keygen timed out")?
        .map_err(|e| format!("run {exe}: {e}"))?;
    let text = String::from_utf8(out.stdout).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let mut value = |prefix: &str| {
        lines
            .next()
            .and_then(|l| l.strip_prefix(prefix))
            .map(String::from)
            .ok_or(format!("no {prefix} line in {text:?}"))
    };
    Ok((value("private=")?, value("public=")?))
}

/// Spawns `command` (killed when dropped) and returns it with the first line it prints.
pub async fn spawn_until_first_line(command: &mut Command) -> Result<(Child, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    tokio::time::timeout(START_LIMIT, BufReader::new(stdout).read_line(&mut line))
        .await
        .map_err(|_| "no line in time")?
        .map_err(|e| format!("read: {e}"))?;
    Ok((child, line))
}

/// Polls `arrived` every 20 ms for up to 5 s.
pub async fn wait_until(mut arrived: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !arrived() {
        if Instant::now() >= deadline {
            return Err("not within 5 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Runs `shutdown` while `held` waits for an answer: Ok when `held` ends without one within 3 s
/// and nothing listens on `addr` any more.
pub async fn shutdown_releases<T: Debug, E>(
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
    held: JoinHandle<Result<T, E>>,
) -> Result<(), String> {
    let limit = Duration::from_secs(3);
    let started = Instant::now();
    shutdown.await;
    match tokio::time::timeout(limit, held).await {
        Err(_) => return Err("the held call was not released".into()),
        Ok(Err(e)) => return Err(format!("join: {e}")),
        Ok(Ok(Ok(answer))) => return Err(format!("no answer expected: {answer:?}")),
        Ok(Ok(Err(_))) => {}
    }
    if started.elapsed() >= limit {
        return Err(format!("released only after {:?}", started.elapsed()));
    }
    match TcpStream::connect(addr).await {
        Ok(_) => Err("the listener is still open".into()),
        Err(_) => Ok(()),
    }
}
