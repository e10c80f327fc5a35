//! `api-key create|add|delete|show`: API keys in the vault (contract §7).

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use vmq_actors::vault::{KeyPolicy, VaultError};
use vmq_actors::{ApiKey, Scope};

use super::args::{ArgSpec, Args};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::{Cell, Reply, Table};
use crate::node::Node;

/// `vmq-admin api-key`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin api-key <sub-command>

  Manage API keys for the HTTP management interface.

  Sub-commands:
    create      Create a new API key and print it (the only time it is shown whole)
    add         Add a given API key
    delete      Delete an API key
    show        Show API keys (masked)
  Use --help after a sub-command for more details.
";

/// `vmq-admin api-key create`.
pub const CREATE_USAGE: &str = "Usage: vmq-admin api-key create [scope=<SCOPE>] [expires=<DATE>]

  Creates a random 32-character API key and prints it. Only its SHA-256 digest is stored:
  write the key down now, it is never shown again.

  scope=<SCOPE>   status, mgmt (default), metrics, health, api2 or httppub
  expires=<DATE>  YYYY-MM-DDTHH:MM:SS in the node's local time, or with a trailing Z for UTC
";

/// `vmq-admin api-key add`.
pub const ADD_USAGE: &str =
    "Usage: vmq-admin api-key add key=<API Key> scope=<SCOPE> expires=<DATE>

  Adds the given API key. scope defaults to mgmt; without expires the key never expires.

  scope=<SCOPE>   status, mgmt (default), metrics, health, api2 or httppub
  expires=<DATE>  YYYY-MM-DDTHH:MM:SS in the node's local time, or with a trailing Z for UTC
";

/// `vmq-admin api-key delete`.
pub const DELETE_USAGE: &str = "Usage: vmq-admin api-key delete key=<API Key> scope=<SCOPE>

  Deletes the given API key from a scope (default mgmt).
";

/// `vmq-admin api-key show`.
pub const SHOW_USAGE: &str = "Usage: vmq-admin api-key show [scope=<SCOPE>]

  Shows the API keys (first characters only), their scope and expiry.
  scope=all (the default) shows every scope.
";

/// `api-key create`.
#[derive(Debug)]
pub struct Create {
    scope: Scope,
    expires: Option<DateTime<Utc>>,
}

impl Create {
    const SPEC: ArgSpec = ArgSpec {
        params: &["scope", "expires"],
        flags: &[],
    };

    /// Reads `scope` and `expires`, in any order.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, CREATE_USAGE)?;
        Ok(Self {
            scope: scope_param(&args)?.unwrap_or(Scope::Mgmt),
            expires: expires_param(&args)?,
        })
    }

    /// Asks the vault for a new key; the reply is the key itself.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        let key = node
            .vault
            .create(self.scope, self.expires, key_policy(node))
            .await
            .map_err(|e| vault_error(e, CREATE_USAGE))?;
        Ok(Reply::text(key.expose()))
    }
}

/// `api-key add`.
#[derive(Debug)]
pub struct Add {
    key: ApiKey,
    scope: Scope,
    expires: Option<DateTime<Utc>>,
}

impl Add {
    const SPEC: ArgSpec = ArgSpec {
        params: &["key", "scope", "expires"],
        flags: &[],
    };

    /// Reads `key`, `scope` and `expires`, in any order.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, ADD_USAGE)?;
        Ok(Self {
            key: ApiKey::new(args.require("key")?),
            scope: scope_param(&args)?.unwrap_or(Scope::Mgmt),
            expires: expires_param(&args)?,
        })
    }

    /// Adds the key: `Done`, or 409 if it exists in that scope.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        node.vault
            .add(self.key, self.scope, self.expires, key_policy(node))
            .await
            .map_err(|e| vault_error(e, ADD_USAGE))?;
        Ok(Reply::done())
    }
}

/// `api-key delete`.
#[derive(Debug)]
pub struct Delete {
    key: ApiKey,
    scope: Scope,
}

impl Delete {
    const SPEC: ArgSpec = ArgSpec {
        params: &["key", "scope"],
        flags: &[],
    };

    /// Reads `key` and `scope`, in any order.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, DELETE_USAGE)?;
        Ok(Self {
            key: ApiKey::new(args.require("key")?),
            scope: scope_param(&args)?.unwrap_or(Scope::Mgmt),
        })
    }

    /// Deletes the key: `Done`, or 404 if it is not in that scope.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        node.vault
            .delete(self.key, self.scope)
            .await
            .map_err(|e| vault_error(e, DELETE_USAGE))?;
        Ok(Reply::done())
    }
}

/// `api-key show`.
#[derive(Debug)]
pub struct Show {
    scope: Option<Scope>,
}

impl Show {
    const SPEC: ArgSpec = ArgSpec {
        params: &["scope"],
        flags: &[],
    };

    /// Reads the optional `scope` (`all` = every scope).
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, SHOW_USAGE)?;
        let scope = match args.param("scope") {
            None | Some("all") => None,
            Some(_) => scope_param(&args)?,
        };
        Ok(Self { scope })
    }

    /// The keys, masked, from the vault's snapshot.
    pub fn execute(self, node: &Node) -> Reply {
        let mut table = Table::new(["Key", "Scope", "Expires (UTC)", "has expired"]);
        for row in node.vault.snapshot().rows(self.scope, Utc::now()) {
            let expires = row.expires.map_or_else(
                || "never".to_owned(),
                |at| at.format("%Y-%m-%d %H:%M:%S").to_string(),
            );
            table.push(vec![
                row.masked.into(),
                row.scope.as_str().into(),
                expires.into(),
                Cell::Bool(row.expired),
            ]);
        }
        Reply::table(table)
    }
}

fn key_policy(node: &Node) -> KeyPolicy {
    let config = node.config();
    KeyPolicy {
        min_length: config.min_apikey_length(),
        max_expiry_days: config.max_apikey_expiry_days(),
    }
}

fn scope_param(args: &Args<'_>) -> Result<Option<Scope>, AdminError> {
    args.param("scope")
        .map(|text| text.parse::<Scope>().map_err(|e| args.error(e)))
        .transpose()
}

fn expires_param(args: &Args<'_>) -> Result<Option<DateTime<Utc>>, AdminError> {
    args.param("expires")
        .map(|text| parse_expiry(text, &Local).map_err(|e| args.error(e)))
        .transpose()
}

/// Parses `YYYY-MM-DDTHH:MM:SS` in `zone` (the node's local time), or with a trailing `Z` as UTC.
pub fn parse_expiry<Z: TimeZone>(text: &str, zone: &Z) -> Result<DateTime<Utc>, String> {
    let malformed = || {
        format!("invalid expires '{text}': write YYYY-MM-DDTHH:MM:SS (local time) or YYYY-MM-DDTHH:MM:SSZ (UTC)")
    };
    let (naive_text, utc) = match text.strip_suffix('Z') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    // Exactly 19 characters: chrono alone would also take single-digit fields.
    if naive_text.len() != 19 {
        return Err(malformed());
    }
    let naive =
        NaiveDateTime::parse_from_str(naive_text, "%Y-%m-%dT%H:%M:%S").map_err(|_| malformed())?;
    if utc {
        return Ok(naive.and_utc());
    }
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            format!("invalid expires '{text}': that time does not exist in the node's time zone")
        })
}

/// Vault outcomes as admin errors; the status for each is decided in `http/response.rs`.
fn vault_error(error: VaultError, usage: &'static str) -> AdminError {
    let message = error.to_string();
    match error {
        VaultError::KeyExists { .. } => AdminError::Conflict(message),
        VaultError::KeyNotFound { .. } => AdminError::NotFound(message),
        VaultError::Storage(_) | VaultError::Cluster(_) => AdminError::Unavailable(message),
        VaultError::Corrupt(_) => AdminError::Internal(message),
        _ => AdminError::bad_args(message, usage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn expiry_in_local_time_or_utc() {
        let plus_two = FixedOffset::east_opt(2 * 3600).expect("offset");
        let local = parse_expiry("2030-01-02T03:04:05", &plus_two).expect("valid");
        assert_eq!(local.to_rfc3339(), "2030-01-02T01:04:05+00:00");
        let utc = parse_expiry("2030-01-02T03:04:05Z", &plus_two).expect("valid");
        assert_eq!(utc.to_rfc3339(), "2030-01-02T03:04:05+00:00");
    }

    #[test]
    fn malformed_expiry_is_an_error_not_a_crash() {
        for bad in [
            "2030-02-30T00:00:00",
            "2030-01-02 03:04:05",
            "2030-1-2T3:4:5",
            "tomorrow",
            "",
            "2030-01-02T03:04:05+01:00",
            "0000-01-01T00:00:00Z0",
            "2030-01-02T24:00:00",
        ] {
            assert!(parse_expiry(bad, &Utc).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn scope_and_expiry_in_any_order() {
        let line = CommandLine::from_argv(&["expires=2030-01-02T03:04:05Z", "scope=api2"]);
        let create = Create::parse(&line).expect("valid");
        assert_eq!(create.scope, Scope::Api2);
        assert!(create.expires.is_some());
        let bad = CommandLine::from_argv(&["scope=bogus"]);
        assert!(Create::parse(&bad)
            .expect_err("must fail")
            .to_string()
            .contains("unknown scope"));
    }

    #[test]
    fn add_and_delete_need_a_key() {
        assert!(Add::parse(&CommandLine::from_argv(&["scope=mgmt"])).is_err());
        assert!(Delete::parse(&CommandLine::from_argv(&[] as &[&str])).is_err());
        let show_all = Show::parse(&CommandLine::from_argv(&["scope=all"])).expect("valid");
        assert_eq!(show_all.scope, None);
    }
}
