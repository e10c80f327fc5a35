//! The Unix-socket server `vmq-admin` talks to: one command line in, its rendered output out.
//!
//! Protocol (one connection per command): the client writes one JSON line `{"argv":[…]}`; the
//! node answers with JSON lines, each `{"stdout":"…"}` or `{"stderr":"…"}`, and a last line
//! `{"exit":N}`. Opening the socket (mode 0600, in the data directory) is the credential.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::accept::stopped;
use crate::admin::{self, render, Caller, CommandLine, Format};
use crate::node::Node;

/// A request larger than this is refused: no command line needs it.
const MAX_REQUEST_BYTES: u64 = 1024 * 1024;

/// The request the CLI sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The arguments after `vmq-admin` (without `--data-dir`).
    pub argv: Vec<String>,
}

/// One line of the answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frame {
    /// Text for standard output.
    Stdout(String),
    /// Text for standard error.
    Stderr(String),
    /// The exit code; the last frame.
    Exit(i32),
}

/// Binds the socket. A socket file left by a node that is gone is replaced; one that answers
/// means another node uses this data directory.
pub async fn bind(path: &Path) -> Result<UnixListener, String> {
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(format!(
                "another node is running with this data directory (its admin socket {} answers)",
                path.display()
            ));
        }
        std::fs::remove_file(path)
            .map_err(|e| format!("cannot remove stale socket {}: {e}", path.display()))?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("cannot bind admin socket {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict admin socket {}: {e}", path.display()))?;
    Ok(listener)
}

/// Serves CLI connections until `stop` turns true.
pub async fn serve(listener: UnixListener, node: Node, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let node = node.clone();
                    tokio::spawn(async move { handle(stream, &node).await });
                }
                Err(error) => {
                    tracing::warn!(%error, "admin socket accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn handle(stream: UnixStream, node: &Node) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let frames = match BufReader::new(read.take(MAX_REQUEST_BYTES))
        .read_line(&mut line)
        .await
    {
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Ok(request) => run(&request.argv, node).await,
            Err(error) => vec![
                Frame::Stderr(format!("malformed request: {error}\n")),
                Frame::Exit(1),
            ],
        },
        Err(error) => vec![
            Frame::Stderr(format!("unreadable request: {error}\n")),
            Frame::Exit(1),
        ],
    };
    for frame in frames {
        let Ok(mut text) = serde_json::to_string(&frame) else {
            return;
        };
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Runs one command line and renders it as the CLI prints it.
pub async fn run(argv: &[String], node: &Node) -> Vec<Frame> {
    let line = CommandLine::from_argv(argv);
    let format = line.format.unwrap_or(Format::Human);
    let (reply, exit) = match admin::run(&line, node, &Caller::local()).await {
        Ok(reply) => (reply, 0),
        Err(error) => (error.to_reply(), 1),
    };
    let (stdout, stderr) = match format {
        Format::Human => render::to_human(&reply),
        Format::Json => {
            let mut body = String::from_utf8_lossy(&render::to_json(&reply)).into_owned();
            if !body.ends_with('\n') {
                body.push('\n');
            }
            if exit == 0 {
                (body, String::new())
            } else {
                (String::new(), body)
            }
        }
    };
    let mut frames = Vec::new();
    if !stdout.is_empty() {
        frames.push(Frame::Stdout(stdout));
    }
    if !stderr.is_empty() {
        frames.push(Frame::Stderr(stderr));
    }
    frames.push(Frame::Exit(exit));
    frames
}
