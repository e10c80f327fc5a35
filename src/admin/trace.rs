//! `trace client` (a client's MQTT packets, streamed as they happen) and `trace stop_all`.

use std::time::Duration;

use futures_util::StreamExt as _;
use vmq_actors::{SessionKey, TraceOptions};

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::Reply;
use super::session::{mountpoint, MOUNTPOINT};
use crate::node::Node;

/// `vmq-admin trace`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin trace <sub-command>

  Trace the MQTT packets of a client.

  Sub-commands:
    client      Show the packets of a client as they happen
    stop_all    Stop every running trace
  Use --help after a sub-command for more details.
";

/// `vmq-admin trace client`.
pub const CLIENT_USAGE: &str = "Usage: vmq-admin trace client client-id=<ClientId>

  Shows the MQTT packets the client receives and sends as they happen: its connection from
  its next packet on, a new connection from its CONNECT. The trace ends with the line Done.
  when the client disconnects, on trace stop_all, or when the caller goes (Ctrl-C). One trace
  per client at a time; several clients may be traced at once. Over HTTP the lines come as
  a chunked text/plain response (curl -N).

  -m, --mountpoint=<Mp>     the client's mountpoint (default: none)
  --rate-max=<N>            at most N lines per rate interval (default 10); the lines over
                            it are skipped, and a line says how many
  --rate-interval=<Ms>      the rate interval in milliseconds (default 100)
  --trunc-payload=<Bytes>   payload bytes shown per PUBLISH (default 200)
";

/// `vmq-admin trace stop_all`.
pub const STOP_ALL_USAGE: &str = "Usage: vmq-admin trace stop_all

  Stops every running trace; each one's output ends with Done.
";

const fn number(name: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        value: FlagValue::Required,
    }
}

/// `trace client`.
#[derive(Debug)]
pub struct Client {
    key: SessionKey,
    options: TraceOptions,
}

impl Client {
    const SPEC: ArgSpec = ArgSpec {
        params: &["client-id"],
        flags: &[
            MOUNTPOINT,
            number("rate-max"),
            number("rate-interval"),
            number("trunc-payload"),
        ],
    };

    /// `client-id=<id>` and the flags above.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, CLIENT_USAGE)?;
        let client_id = args.require("client-id")?;
        let defaults = TraceOptions::default();
        let rate_max = whole(&args, "rate-max", 1)?.map_or(Ok(defaults.rate_max), |n| {
            u32::try_from(n).map_err(|_| args.error("--rate-max is too large"))
        })?;
        let rate_interval =
            whole(&args, "rate-interval", 1)?.map_or(defaults.rate_interval, Duration::from_millis);
        let trunc_payload = whole(&args, "trunc-payload", 0)?.map_or(defaults.trunc_payload, {
            |n| usize::try_from(n).unwrap_or(usize::MAX)
        });
        Ok(Self {
            key: SessionKey::new(&mountpoint(&args)?, client_id),
            options: TraceOptions {
                rate_max,
                rate_interval,
                trunc_payload,
            },
        })
    }

    /// Starts the trace: a first line saying whether the client is connected, then its
    /// packets; 409 if this client is traced already.
    pub fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        let connected = node
            .sessions
            .sessions()
            .get(&self.key)
            .is_some_and(|session| session.online.is_some());
        let intro = format!(
            "Starting trace for client {:?} with mountpoint {:?} ({}).",
            self.key.client_id,
            self.key.mountpoint,
            if connected {
                "connected: traced from its next packet"
            } else {
                "not connected: traced from its next CONNECT"
            }
        );
        let trace = node
            .sessions
            .traces()
            .start(self.key, self.options)
            .map_err(|busy| AdminError::Conflict(busy.to_string()))?;
        let lines = futures_util::stream::iter([intro]).chain(trace.into_stream());
        Ok(Reply::stream(lines))
    }
}

/// `--<name>=<n>` as a whole number of at least `min`; `None` when absent.
fn whole(args: &Args<'_>, name: &str, min: u64) -> Result<Option<u64>, AdminError> {
    let Some(text) = args.flag_value(name) else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(n) if n >= min => Ok(Some(n)),
        Ok(_) => Err(args.error(format!("--{name} must be at least {min}"))),
        Err(_) => Err(args.error(format!(
            "invalid value '{text}' for --{name}: write a whole number, like --{name}=100"
        ))),
    }
}

/// `trace stop_all`.
#[derive(Debug)]
pub struct StopAll;

impl StopAll {
    /// Takes no arguments.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Args::check(line, &ArgSpec::NONE, STOP_ALL_USAGE).map(|_| Self)
    }

    /// Ends every trace.
    pub fn execute(self, node: &Node) -> Reply {
        node.sessions.traces().stop_all();
        Reply::done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Client, String> {
        Client::parse(&CommandLine::from_argv(argv)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_vernemqs() {
        let client = parse(&["client-id=c1"]).expect("valid");
        assert_eq!(client.key, SessionKey::new("", "c1"));
        assert_eq!(client.options, TraceOptions::default());
        assert_eq!(client.options.rate_max, 10);
        assert_eq!(client.options.rate_interval, Duration::from_millis(100));
        assert_eq!(client.options.trunc_payload, 200);
    }

    #[test]
    fn flags_set_the_options() {
        let client = parse(&[
            "--rate-max=50",
            "client-id=c1",
            "--mountpoint=mp",
            "--rate-interval=1000",
            "--trunc-payload=0",
        ])
        .expect("valid");
        assert_eq!(client.key, SessionKey::new("mp", "c1"));
        let expected = TraceOptions {
            rate_max: 50,
            rate_interval: Duration::from_secs(1),
            trunc_payload: 0,
        };
        assert_eq!(client.options, expected);
    }

    #[test]
    fn bad_input_is_named() {
        let error = |argv: &[&str]| parse(argv).expect_err("must fail");
        assert!(error(&[]).contains("missing parameter client-id"));
        assert!(error(&["client-id=c1", "--rate-max=abc"])
            .contains("invalid value 'abc' for --rate-max"));
        assert!(error(&["client-id=c1", "--rate-max=0"]).contains("at least 1"));
        assert!(error(&["client-id=c1", "--rate-interval=-5"]).contains("--rate-interval"));
        assert!(error(&["client-id=c1", "--rate-max=99999999999"]).contains("too large"));
        assert!(error(&["client-id=c1", "--rate-max"]).contains("needs a value"));
        assert!(error(&["client-id=c1", "--mountpoint"]).contains("Invalid mountpoint value"));
    }

    #[test]
    fn stop_all_takes_nothing() {
        assert!(StopAll::parse(&CommandLine::from_argv::<&str>(&[])).is_ok());
        assert!(StopAll::parse(&CommandLine::from_argv(&["x=1"])).is_err());
    }
}
