//! The simulator binaries' command line: `NAME keygen`, `-h`/`--help`, or `--flag VALUE` /
//! `--flag=VALUE` pairs handed to the simulator's `serve`. An error prints `NAME: error` and the
//! usage to stderr and exits with status 2.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use crate::generate_keypair;

/// The values given for the known flags.
#[derive(Debug, PartialEq, Eq)]
pub struct Flags(BTreeMap<String, String>);

impl Flags {
    pub fn optional(&mut self, flag: &str) -> Option<String> {
        self.0.remove(flag)
    }

    pub fn required(&mut self, flag: &str) -> Result<String, String> {
        self.optional(flag).ok_or(format!("missing {flag}"))
    }

    /// The required `--listen` address.
    pub fn listen(&mut self) -> Result<SocketAddr, String> {
        self.required("--listen")?
            .parse()
            .map_err(|e| format!("--listen: {e}"))
    }
}

/// Runs the binary `name` on the process arguments; `known` lists its flags.
pub async fn main<S, F>(name: &str, usage: &str, known: &[&str], serve: S) -> ExitCode
where
    S: FnOnce(Flags) -> F,
    F: Future<Output = Result<(), String>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args, usage, known, serve).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}\n{usage}");
            ExitCode::from(2)
        }
    }
}

async fn run<S, F>(args: &[String], usage: &str, known: &[&str], serve: S) -> Result<(), String>
where
    S: FnOnce(Flags) -> F,
    F: Future<Output = Result<(), String>>,
{
    if args.first().map(String::as_str) == Some("keygen") {
        let (private, public) = generate_keypair().map_err(|e| e.to_string())?;
        println!("private={private}\npublic={public}");
        return Ok(());
    }
    match parse(args, known)? {
        Some(flags) => serve(flags).await,
        None => {
            println!("{usage}");
            Ok(())
        }
    }
}

/// None when help is asked for.
fn parse(args: &[String], known: &[&str]) -> Result<Option<Flags>, String> {
    let mut values = BTreeMap::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if !known.contains(&flag) {
            return Err(format!("unknown argument {flag}"));
        }
        let value = match inline {
            Some(v) => v,
            None => rest
                .next()
                .cloned()
                .ok_or(format!("{flag} needs a value"))?,
        };
        values.insert(flag.to_string(), value);
    }
    Ok(Some(Flags(values)))
}

/// Prints `listening on URL` once the simulator serves, waits for SIGINT or SIGTERM, then runs
/// `shutdown`.
pub async fn serve_until_signal(url: &str, shutdown: impl Future<Output = ()>) {
    println!("listening on {url}");
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    shutdown.await;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    #[test]
    fn flags_take_separate_or_inline_values() {
        let known = ["--listen", "--key", "--url"];
        let mut flags = parse(&args("--listen 127.0.0.1:0 --key=a=b --key c"), &known)
            .expect("parsed")
            .expect("not help");
        assert_eq!(flags.listen(), Ok("127.0.0.1:0".parse().expect("addr")));
        assert_eq!(flags.required("--key").as_deref(), Ok("c"), "last wins");
        assert_eq!(flags.optional("--url"), None);
        assert_eq!(flags.required("--url"), Err("missing --url".into()));

        assert_eq!(parse(&args("--key 1 --help"), &known), Ok(None));
        assert_eq!(
            parse(&args("--nope 1"), &known),
            Err("unknown argument --nope".into())
        );
        assert_eq!(
            parse(&args("--key"), &known),
            Err("--key needs a value".into())
        );
        let mut flags = parse(&args("--listen nowhere"), &known)
            .expect("parsed")
            .expect("not help");
        assert!(flags.listen().is_err_and(|e| e.starts_with("--listen: ")));
    }
}
