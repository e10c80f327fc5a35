//! `retain show` (the retained messages, with the field query of `session show`) and
//! `retain delete`.

use vmq_actors::RetainedRow;

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::query::{Field, Kind, Query, Row, Value};
use super::reply::Reply;
use super::session::mountpoint;
use crate::node::Node;

/// `vmq-admin retain`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin retain <sub-command>

  Inspect and manage retained messages.

  Sub-commands:
    show        Show and filter retained messages
    delete      Delete a retained message
  Use --help after a sub-command for more details.
";

/// `vmq-admin retain show`.
pub const SHOW_USAGE: &str = "Usage: vmq-admin retain show [--limit=<NumberOfResults>] [--offset=<N>] [--rowtimeout=<Timeout>] [--payload[=<Value>]] [--topic[=<Value>]] [--mountpoint[=<Value>]]

  Shows retained messages. A field flag without a value selects that column; with a value
  it keeps only the messages whose field equals it, or matches the regular expression
  after ~ (--topic=~^sensors/). Without a selected column: payload, topic.

  --limit=<N>        at most N rows (default 100)
  --offset=<N>       skip the first N rows, ordered by mountpoint and topic
  --rowtimeout=<ms>  accepted for compatibility
";

/// `vmq-admin retain delete`.
pub const DELETE_USAGE: &str = "Usage: vmq-admin retain delete --topic=<Topic> [--mountpoint=<Mp>]

  Deletes the retained message of a topic (the exact topic, no wildcards).

  -t, --topic=<Topic>       the topic
  -m, --mountpoint=<Mp>     its mountpoint (default: none)
";

/// The fields of `retain show`, alphabetically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainField {
    Mountpoint,
    Payload,
    Topic,
}

impl Field for RetainField {
    const ALL: &'static [Self] = &[
        RetainField::Mountpoint,
        RetainField::Payload,
        RetainField::Topic,
    ];
    const DEFAULT: &'static [Self] = &[RetainField::Payload, RetainField::Topic];

    fn name(self) -> &'static str {
        match self {
            RetainField::Mountpoint => "mountpoint",
            RetainField::Payload => "payload",
            RetainField::Topic => "topic",
        }
    }

    fn kind(self) -> Kind {
        Kind::Text
    }
}

impl Row<RetainField> for RetainedRow {
    fn value(&self, field: RetainField) -> Value<'_> {
        match field {
            RetainField::Mountpoint => Value::text(&self.mountpoint),
            RetainField::Payload => Value::Text(String::from_utf8_lossy(&self.payload)),
            RetainField::Topic => Value::text(&self.topic),
        }
    }
}

/// `retain show`.
#[derive(Debug)]
pub struct Show {
    query: Query<RetainField>,
}

impl Show {
    /// Reads the field flags, `--limit`, `--offset` and `--rowtimeout`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Query::parse(line, SHOW_USAGE).map(|query| Self { query })
    }

    /// The retained messages of every mountpoint, by mountpoint and topic.
    pub fn execute(self, node: &Node) -> Reply {
        Reply::table(self.query.collect(node.sessions.retained().rows()))
    }
}

/// `retain delete`.
#[derive(Debug)]
pub struct Delete {
    mountpoint: String,
    topic: String,
}

impl Delete {
    const SPEC: ArgSpec = ArgSpec {
        params: &[],
        flags: &[
            FlagSpec {
                name: "topic",
                short: Some('t'),
                value: FlagValue::Optional,
            },
            FlagSpec {
                name: "mountpoint",
                short: Some('m'),
                value: FlagValue::Optional,
            },
        ],
    };

    /// `--topic=<t>` (mandatory), `--mountpoint=<mp>`.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &Self::SPEC, DELETE_USAGE)?;
        let topic = args
            .flag_value("topic")
            .ok_or_else(|| args.error("No valid topic given."))?;
        Ok(Self {
            mountpoint: mountpoint(&args)?,
            topic: topic.to_owned(),
        })
    }

    /// Deletes the message: `Done` whether or not there was one.
    pub fn execute(self, node: &Node) -> Reply {
        node.sessions
            .retained()
            .delete(&self.mountpoint, &self.topic);
        Reply::done()
    }
}
