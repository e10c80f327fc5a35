//! `session disconnect`, `session disconnect clients`, `session unsubscribe` and
//! `session reauthorize`. `session show` is in `session_show.rs`.

use vmq_actors::SessionKey;

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::Reply;
use crate::node::Node;

/// `vmq-admin session`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin session <sub-command>

  Manage MQTT sessions.

  Sub-commands:
    show         Show and filter running sessions
    disconnect   Forcefully disconnect a client
    reauthorize  Reauthorize the subscriptions of a client
    unsubscribe  Remove a subscription of a client
  Use --help after a sub-command for more details.
";

/// `vmq-admin session disconnect`.
pub const DISCONNECT_USAGE: &str = "Usage: vmq-admin session disconnect client-id=<ClientId>

  Forcefully disconnects a client (MQTT 5 clients get the reason \"administrative action\").
  A persistent session stays, offline, unless --cleanup. Answers Done even when there is
  no such client.

  -c, --cleanup             also delete the session: its subscriptions and queued messages
  -m, --mountpoint=<Mp>     the client's mountpoint (default: none)

  vmq-admin session disconnect clients client-ids=<ClientId>,<ClientId>,...
    does the same for several clients.
";

/// `vmq-admin session disconnect clients`.
pub const DISCONNECT_CLIENTS_USAGE: &str =
    "Usage: vmq-admin session disconnect clients client-ids=<ClientId>,<ClientId>,...

  Forcefully disconnects each client of the comma-separated list, as session disconnect.

  -c, --cleanup             also delete the sessions
  -m, --mountpoint=<Mp>     the clients' mountpoint (default: none)
";

/// `vmq-admin session reauthorize`.
pub const REAUTHORIZE_USAGE: &str =
    "Usage: vmq-admin session reauthorize username=<Username> client-id=<ClientId>

  Checks the subscriptions of the client again, as the given user, and removes those the
  ACL no longer allows. Answers Done if any was removed, Unchanged otherwise.

  -m, --mountpoint=<Mp>     the client's mountpoint (default: none)
";

/// `vmq-admin session unsubscribe`.
pub const UNSUBSCRIBE_USAGE: &str =
    "Usage: vmq-admin session unsubscribe client-id=<ClientId> topic=<Topic>

  Removes one subscription (the exact topic filter) of a client. Answers Done, or
  Not successfull when the client has no such subscription.

  -m, --mountpoint=<Mp>     the client's mountpoint (default: none)
  -p, --plugin              accepted for compatibility (there are no plugin hooks to call)
";

pub(super) const MOUNTPOINT: FlagSpec = FlagSpec {
    name: "mountpoint",
    short: Some('m'),
    value: FlagValue::Optional,
};

const CLEANUP: FlagSpec = FlagSpec {
    name: "cleanup",
    short: Some('c'),
    value: FlagValue::None,
};

/// `--mountpoint=<mp>` (default `""`); a bare `--mountpoint` is VerneMQ's "Invalid mountpoint value".
pub(super) fn mountpoint(args: &Args<'_>) -> Result<String, AdminError> {
    match (args.has_flag("mountpoint"), args.flag_value("mountpoint")) {
        (false, _) => Ok(String::new()),
        (true, Some(mountpoint)) => Ok(mountpoint.to_owned()),
        (true, None) => Err(args.error("Invalid mountpoint value")),
    }
}

/// `session disconnect` and `session disconnect clients`.
#[derive(Debug)]
pub struct Disconnect {
    keys: Vec<SessionKey>,
    cleanup: bool,
}

impl Disconnect {
    const SPEC: ArgSpec = ArgSpec {
        params: &["client-id"],
        flags: &[CLEANUP, MOUNTPOINT],
    };
    const CLIENTS_SPEC: ArgSpec = ArgSpec {
        params: &["client-ids"],
        flags: &[CLEANUP, MOUNTPOINT],
    };

    /// `client-id=<id>`, `--cleanup`, `--mountpoint=<mp>`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, DISCONNECT_USAGE)?;
        let client_id = args.require("client-id")?;
        Ok(Self {
            keys: vec![SessionKey::new(&mountpoint(&args)?, client_id)],
            cleanup: args.has_flag("cleanup"),
        })
    }

    /// `client-ids=<a,b,…>`, `--cleanup`, `--mountpoint=<mp>`.
    pub fn parse_clients(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::CLIENTS_SPEC, DISCONNECT_CLIENTS_USAGE)?;
        let ids = args.require("client-ids")?;
        let mountpoint = mountpoint(&args)?;
        Ok(Self {
            keys: ids
                .split(',')
                .filter(|id| !id.is_empty())
                .map(|id| SessionKey::new(&mountpoint, id))
                .collect(),
            cleanup: args.has_flag("cleanup"),
        })
    }

    /// Closes each client's connection (and deletes the session with `--cleanup`); `Done`
    /// whether or not the clients existed.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        for key in self.keys {
            node.sessions.disconnect(key, self.cleanup).await?;
        }
        Ok(Reply::done())
    }
}

/// `session unsubscribe`.
#[derive(Debug)]
pub struct Unsubscribe {
    key: SessionKey,
    topic: String,
}

impl Unsubscribe {
    const SPEC: ArgSpec = ArgSpec {
        params: &["client-id", "topic"],
        flags: &[
            MOUNTPOINT,
            FlagSpec {
                name: "plugin",
                short: Some('p'),
                value: FlagValue::None,
            },
        ],
    };

    /// `client-id=<id> topic=<filter>`, `--mountpoint=<mp>`, `--plugin`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, UNSUBSCRIBE_USAGE)?;
        let client_id = args.require("client-id")?;
        let topic = args.require("topic")?;
        Ok(Self {
            key: SessionKey::new(&mountpoint(&args)?, client_id),
            topic: topic.to_owned(),
        })
    }

    /// Removes the subscription: `Done`, or VerneMQ's `Not successfull` when there was none.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        match node
            .sessions
            .unsubscribe_client(self.key, self.topic)
            .await?
        {
            true => Ok(Reply::done()),
            false => Ok(Reply::text("Not successfull")),
        }
    }
}

/// `session reauthorize`.
#[derive(Debug)]
pub struct Reauthorize {
    key: SessionKey,
    username: String,
}

impl Reauthorize {
    const SPEC: ArgSpec = ArgSpec {
        params: &["username", "client-id"],
        flags: &[MOUNTPOINT],
    };

    /// `username=<u> client-id=<id>` (any order), `--mountpoint=<mp>`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, REAUTHORIZE_USAGE)?;
        let username = args.require("username")?;
        let client_id = args.require("client-id")?;
        Ok(Self {
            key: SessionKey::new(&mountpoint(&args)?, client_id),
            username: username.to_owned(),
        })
    }

    /// Removes the subscriptions the ACL refuses to `username` now: `Done` if any, else `Unchanged`.
    pub async fn execute(self, node: &Node) -> Result<Reply, AdminError> {
        let rules = node.plugins.rules();
        let refused: Vec<String> = node
            .sessions
            .sessions()
            .get(&self.key)
            .map(|view| {
                view.subscriptions
                    .iter()
                    .filter(|(filter, _)| {
                        !rules.may_subscribe(&self.key.client_id, Some(&self.username), filter)
                    })
                    .map(|(filter, _)| filter.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut removed = false;
        for filter in refused {
            removed |= node
                .sessions
                .unsubscribe_client(self.key.clone(), filter)
                .await?;
        }
        Ok(Reply::text(if removed { "Done" } else { "Unchanged" }))
    }
}
