//! `AdminError`: every way a command can fail, as values. `http/response.rs` maps them to statuses.

use vmq_actors::CallError;

use super::reply::Reply;

/// Why a command line could not be run. Domain outcomes that are not failures stay in `Reply`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The words name no command; `usage` is the nearest command group's usage.
    #[error("Unknown command")]
    UnknownCommand {
        /// Usage of the nearest group.
        usage: &'static str,
    },
    /// The command exists but its arguments are wrong (unknown, empty, missing, malformed).
    #[error("{message}")]
    BadArguments {
        /// What was wrong, naming the argument.
        message: String,
        /// The command's usage, shown after the message.
        usage: Option<&'static str>,
    },
    /// The thing addressed does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The thing to create already exists.
    #[error("{0}")]
    Conflict(String),
    /// An actor or node did not answer in time, or storage refused a write.
    #[error("{0}")]
    Unavailable(String),
    /// A bug: a panic or an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AdminError {
    /// A bad-arguments error that shows `usage` after the message.
    pub fn bad_args(message: impl Into<String>, usage: &'static str) -> Self {
        Self::BadArguments {
            message: message.into(),
            usage: Some(usage),
        }
    }

    /// The alert that both front ends show for this error: the message, then the usage if any.
    pub fn to_reply(&self) -> Reply {
        let mut texts = vec![self.to_string()];
        match self {
            AdminError::UnknownCommand { usage }
            | AdminError::BadArguments {
                usage: Some(usage), ..
            } => texts.push((*usage).to_owned()),
            _ => {}
        }
        Reply::alert(texts)
    }
}

impl From<CallError> for AdminError {
    fn from(error: CallError) -> Self {
        AdminError::Unavailable(error.to_string())
    }
}
