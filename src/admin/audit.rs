//! Audit lines: one INFO line (target `vmq_node::audit`) per state-changing command, naming the
//! command, its arguments with secrets redacted, who asked, from where, and how it ended.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::SocketAddr;

use vmq_actors::ApiKey;

use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::Reply;

/// The target of audit lines: `log level logger=vmq_node::audit level=…` sets their level alone.
pub const AUDIT_TARGET: &str = "vmq_node::audit";

/// What an audit line shows instead of a secret value.
const REDACTED: &str = "<redacted>";

/// Who runs a command, as the audit line names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The HTTP client's `ip:port`; `local` for the admin socket.
    pub peer: String,
    /// The API key, masked as `api-key show` prints it (`abcdef…`); `local-socket` for
    /// `vmq-admin`; `none` when the HTTP module needs no key.
    pub credential: String,
}

impl Caller {
    /// `vmq-admin` over the local socket.
    pub fn local() -> Self {
        Self {
            peer: "local".to_owned(),
            credential: "local-socket".to_owned(),
        }
    }

    /// An HTTP client at `peer` (unknown: `-`) that got in with a key, masked by [`masked_key`]
    /// (`None`: no key needed).
    pub fn http(peer: Option<SocketAddr>, masked_key: Option<String>) -> Self {
        Self {
            peer: peer.map_or_else(|| "-".to_owned(), |peer| peer.to_string()),
            credential: masked_key.unwrap_or_else(|| "none".to_owned()),
        }
    }
}

/// A key as `api-key show` prints it: its first characters, then `…`.
pub fn masked_key(key: &[u8]) -> String {
    ApiKey::new(String::from_utf8_lossy(key)).masked()
}

/// Writes the audit line of a command that ran (or failed) with `outcome`.
pub(super) fn record(line: &CommandLine, caller: &Caller, outcome: &Result<Reply, AdminError>) {
    let command = line.words.join(" ");
    let params = redacted_args(line);
    let outcome = match outcome {
        Ok(_) => "ok".to_owned(),
        Err(error) => failure(line, error),
    };
    tracing::info!(
        target: AUDIT_TARGET,
        command = ?command,
        params = ?params,
        caller = ?caller.credential,
        peer = ?caller.peer,
        outcome = ?outcome,
        "admin command"
    );
}

/// `key=value` params then flags, in input order, secrets redacted.
pub fn redacted_args(line: &CommandLine) -> String {
    let api_key_command = line.words.first().is_some_and(|w| w == "api-key");
    let mut text = String::new();
    for (name, value) in &line.params {
        let separator = if text.is_empty() { "" } else { " " };
        let value = redact(name, value, api_key_command);
        let _ = write!(text, "{separator}{name}={value}");
    }
    for flag in &line.flags {
        let separator = if text.is_empty() { "" } else { " " };
        let dashes = if flag.short { "-" } else { "--" };
        let _ = write!(text, "{separator}{dashes}{}", flag.name);
        if let Some(value) = &flag.value {
            let _ = write!(text, "={}", redact(&flag.name, value, false));
        }
    }
    text
}

/// The value as an audit line may show it: an API key masked, any other secret replaced.
pub fn redact<'a>(name: &str, value: &'a str, api_key_command: bool) -> Cow<'a, str> {
    if api_key_command && name == "key" {
        Cow::Owned(ApiKey::new(value).masked())
    } else if is_secret(name) {
        Cow::Borrowed(REDACTED)
    } else {
        Cow::Borrowed(value)
    }
}

/// Names that hold secrets: `password`, `secret`, `token`, `cookie`, `credential` anywhere in
/// the name, or a last word (after `.`, `_`, `-`) of `key` or `apikey`.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let last_word = name.rsplit(['.', '_', '-']).next().unwrap_or_default();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "cookie",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
        || last_word == "key"
        || last_word == "apikey"
}

/// `<status> <message>`. A malformed argument is not quoted back (it may be a secret typed
/// wrongly); secret values that the message repeats are redacted.
fn failure(line: &CommandLine, error: &AdminError) -> String {
    let status = crate::http::response::status_of(error).as_u16();
    if line.invalid.is_some() {
        return format!("{status} malformed argument");
    }
    let api_key_command = line.words.first().is_some_and(|w| w == "api-key");
    let mut message = error.to_string();
    for (name, value) in &line.params {
        let shown = redact(name, value, api_key_command);
        if shown != value.as_str() && value.len() >= 4 {
            message = message.replace(value.as_str(), &shown);
        }
    }
    format!("{status} {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(argv: &[&str]) -> CommandLine {
        CommandLine::from_argv(argv)
    }

    #[test]
    fn api_keys_are_masked_and_other_secrets_replaced() {
        let key = "abcdefghijklmnopqrstuvwxyz012345";
        let add = line(&["api-key", "add", &format!("key={key}"), "scope=mgmt"]);
        assert_eq!(redacted_args(&add), "key=abcdef… scope=mgmt");
        let set = line(&[
            "set",
            "allow_anonymous=on",
            "vmq_passwd.password_file=/etc/passwd",
            "secret=s3cr3t",
        ]);
        assert_eq!(
            redacted_args(&set),
            "allow_anonymous=on vmq_passwd.password_file=<redacted> secret=<redacted>"
        );
        let flags = line(&[
            "session",
            "disconnect",
            "client-id=c",
            "--cleanup",
            "--token=t",
        ]);
        assert_eq!(
            redacted_args(&flags),
            "client-id=c --cleanup --token=<redacted>"
        );
        // A `key` outside the api-key commands is a secret of unknown shape: not even a prefix.
        assert_eq!(redact("key", key, false), REDACTED);
    }

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "PASSWORD",
            "db_password",
            "api_key",
            "key",
            "apikey",
            "x.secret",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in [
            "client-id",
            "min_apikey_length",
            "keyfile",
            "scope",
            "topic",
            "username",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn failures_name_the_status_and_never_repeat_a_secret() {
        let key = "abcdefghijklmnopqrstuvwxyz012345";
        let add = line(&["api-key", "add", &format!("key={key}")]);
        let error = AdminError::Conflict(format!("key {key} exists"));
        assert_eq!(failure(&add, &error), "409 key abcdef… exists");
        let bad = CommandLine::from_http("api-key/add", Some(&format!("key=%zz{key}")), None);
        let error = AdminError::bad_args(bad.invalid.clone().expect("invalid"), "usage");
        assert_eq!(failure(&bad, &error), "400 malformed argument");
    }

    #[test]
    fn callers() {
        assert_eq!(Caller::local().peer, "local");
        assert_eq!(Caller::local().credential, "local-socket");
        let peer: SocketAddr = "127.0.0.1:4242".parse().expect("addr");
        let caller = Caller::http(Some(peer), Some(masked_key(b"abcdefghijklmnop")));
        assert_eq!(caller.peer, "127.0.0.1:4242");
        assert_eq!(caller.credential, "abcdef…");
        assert_eq!(Caller::http(None, None).credential, "none");
    }
}
