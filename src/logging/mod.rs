//! Process plumbing for `main`: the tracing subscriber, whose filter `log level` changes at run
//! time through a [`LogControl`], and the shutdown signals.

mod levels;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{reload, EnvFilter, Registry};

pub use levels::{LogFilter, LogLevel, Logger, LoggerRow, LEVEL_WORDS, MAX_TARGETS};

/// Installs the process's subscriber: logs to stderr, filtered by `log.console.level` with
/// `RUST_LOG` on top (see [`LogFilter::with_rust_log`]). Returns the control that changes the
/// filter; if a subscriber was already installed, the control is detached.
pub fn init(level: &str) -> LogControl {
    let console = level.parse().unwrap_or(LogLevel::Info);
    let (filter, rejected) = match std::env::var("RUST_LOG") {
        Ok(text) => LogFilter::with_rust_log(console, &text),
        Err(_) => (LogFilter::new(console), Vec::new()),
    };
    let env_filter =
        EnvFilter::try_new(filter.directives()).unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(env_filter);
    // Colours only for a terminal: log files and pipes get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let installed = tracing_subscriber::registry()
        .with(layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(std::io::stderr),
        )
        .try_init();
    for directive in rejected {
        tracing::warn!(
            directive,
            "RUST_LOG: ignored a directive that does not parse"
        );
    }
    match installed {
        Ok(()) => LogControl::new(filter, Some(handle)),
        Err(_) => LogControl::detached(filter),
    }
}

type ReloadHandle = reload::Handle<EnvFilter, Registry>;

/// The node's log levels: what `log show config` lists and `log level` changes. Cheap to clone.
///
/// [`init`] attaches it to the process's subscriber. A node started without one (in-process
/// tests, several nodes in one process) gets a detached control: it keeps and shows the levels,
/// but filters nothing, so such nodes never fight over the one global subscriber.
#[derive(Clone)]
pub struct LogControl {
    inner: Arc<Inner>,
}

struct Inner {
    filter: Mutex<LogFilter>,
    reload: Option<ReloadHandle>,
}

/// Why `log level` was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The change is not allowed (too many targets).
    #[error("{0}")]
    Refused(String),
    /// The subscriber did not take the new filter.
    #[error("cannot change the log filter: {0}")]
    Failed(String),
}

impl LogControl {
    fn new(filter: LogFilter, reload: Option<ReloadHandle>) -> Self {
        Self {
            inner: Arc::new(Inner {
                filter: Mutex::new(filter),
                reload,
            }),
        }
    }

    /// A control bound to no subscriber.
    pub fn detached(filter: LogFilter) -> Self {
        Self::new(filter, None)
    }

    /// Whether changes reach a subscriber.
    pub fn is_attached(&self) -> bool {
        self.inner.reload.is_some()
    }

    /// The levels in force, as `log show config` lists them.
    pub fn rows(&self) -> Vec<LoggerRow> {
        self.lock().rows()
    }

    /// The `EnvFilter` directives in force.
    pub fn directives(&self) -> String {
        self.lock().directives()
    }

    /// Sets a level and applies it at once.
    pub fn set(&self, logger: Logger, level: LogLevel) -> Result<(), LogError> {
        let mut current = self.lock();
        let mut next = current.clone();
        next.set(logger, level).map_err(LogError::Refused)?;
        if let Some(handle) = &self.inner.reload {
            let filter = EnvFilter::try_new(next.directives())
                .map_err(|e| LogError::Failed(e.to_string()))?;
            handle
                .reload(filter)
                .map_err(|e| LogError::Failed(e.to_string()))?;
            // Records of the `log` crate (rustls) are cut by its own maximum, set once at init.
            log::set_max_level(log_level_filter(LevelFilter::current()));
        }
        *current = next;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogFilter> {
        self.inner
            .filter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for LogControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogControl")
            .field("directives", &self.directives())
            .field("attached", &self.is_attached())
            .finish()
    }
}

fn log_level_filter(level: LevelFilter) -> log::LevelFilter {
    match level.into_level() {
        None => log::LevelFilter::Off,
        Some(tracing::Level::ERROR) => log::LevelFilter::Error,
        Some(tracing::Level::WARN) => log::LevelFilter::Warn,
        Some(tracing::Level::INFO) => log::LevelFilter::Info,
        Some(tracing::Level::DEBUG) => log::LevelFilter::Debug,
        Some(_) => log::LevelFilter::Trace,
    }
}

/// Ctrl-C and SIGTERM, registered when created: install it before the node announces that it
/// runs, so that a signal sent right after that announcement is not lost.
#[derive(Debug)]
pub struct ShutdownSignal {
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Registers the handlers (needs a running tokio runtime).
    pub fn install() -> std::io::Result<Self> {
        let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        Ok(Self { terminate })
    }

    /// Resolves on Ctrl-C or SIGTERM.
    pub async fn received(&mut self) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_control_keeps_and_shows_the_levels() {
        let control = LogControl::detached(LogFilter::new(LogLevel::Info));
        assert!(!control.is_attached());
        control
            .set(Logger::Target("vmq_node::http".into()), LogLevel::Debug)
            .expect("set");
        control.set(Logger::Console, LogLevel::Error).expect("set");
        assert_eq!(control.directives(), "error,vmq_node::http=debug");
        // Clones share the levels: every handle of one node sees the change.
        assert_eq!(control.clone().rows().len(), 2);
        for i in 0..MAX_TARGETS {
            let _ = control.set(Logger::Target(format!("m{i}")), LogLevel::Debug);
        }
        assert!(matches!(
            control.set(Logger::Target("over".into()), LogLevel::Debug),
            Err(LogError::Refused(_))
        ));
    }

    #[test]
    fn log_crate_levels_follow_tracing_levels() {
        assert_eq!(log_level_filter(LevelFilter::OFF), log::LevelFilter::Off);
        assert_eq!(log_level_filter(LevelFilter::WARN), log::LevelFilter::Warn);
        assert_eq!(
            log_level_filter(LevelFilter::TRACE),
            log::LevelFilter::Trace
        );
    }
}
