//! Process plumbing for `main`: the tracing subscriber and the shutdown signals.

use tracing_subscriber::EnvFilter;

/// Logs to stderr; `RUST_LOG` wins over `log.console.level`.
pub fn init(level: &str) {
    let level = match level {
        "warning" => "warn",
        other => other,
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // Colours only for a terminal: log files and pipes get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
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
