//! The Unix-socket server `vmq-admin` talks to: one command line in, its rendered output out.
//!
//! Protocol (one connection per command): the client writes one JSON line `{"argv":[…]}`; the
//! node answers with JSON lines, each `{"stdout":"…"}` or `{"stderr":"…"}`, and a last line
//! `{"exit":N}`. Opening the socket (mode 0600, in the data directory) is the credential.
//! A streaming command (`trace client`) sends one `{"stdout":…}` frame per line as the lines
//! come, then `{"exit":0}`; the client ends it early by closing the socket.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use futures_util::stream::BoxStream;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
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
    let mut read = BufReader::new(read.take(MAX_REQUEST_BYTES));
    let mut line = String::new();
    let answer = match read.read_line(&mut line).await {
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Ok(request) => run(&request.argv, node).await,
            Err(error) => Answer::frames(vec![
                Frame::Stderr(format!("malformed request: {error}\n")),
                Frame::Exit(1),
            ]),
        },
        Err(error) => Answer::frames(vec![
            Frame::Stderr(format!("unreadable request: {error}\n")),
            Frame::Exit(1),
        ]),
    };
    if let Some(lines) = answer.lines {
        if stream_lines(lines, &mut read, &mut write).await.is_err() {
            return;
        }
    }
    for frame in answer.frames {
        if send(&mut write, &frame).await.is_err() {
            return;
        }
    }
}

/// Writes one frame as a JSON line.
async fn send<W: AsyncWrite + Unpin>(write: &mut W, frame: &Frame) -> Result<(), ()> {
    let mut text = serde_json::to_string(frame).map_err(drop)?;
    text.push('\n');
    write.write_all(text.as_bytes()).await.map_err(drop)
}

/// Sends each line as a stdout frame as it comes, until the lines end; `Err` when the CLI
/// hangs up first (its end of the socket reads as closed), which drops the lines.
async fn stream_lines<R, W>(
    mut lines: BoxStream<'static, String>,
    read: &mut R,
    write: &mut W,
) -> Result<(), ()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut ignored = [0u8; 64];
    loop {
        tokio::select! {
            line = lines.next() => match line {
                Some(mut line) => {
                    line.push('\n');
                    send(write, &Frame::Stdout(line)).await?;
                }
                None => return Ok(()),
            },
            read = read.read(&mut ignored) => match read {
                Ok(0) | Err(_) => return Err(()),
                Ok(_) => {}
            },
        }
    }
}

/// What the node answers to one command line: lines to stream first (if any), then frames.
pub struct Answer {
    /// A streaming command's lines.
    pub lines: Option<BoxStream<'static, String>>,
    /// The frames, the exit code last.
    pub frames: Vec<Frame>,
}

impl Answer {
    fn frames(frames: Vec<Frame>) -> Self {
        Self {
            lines: None,
            frames,
        }
    }
}

/// Runs one command line and renders it as the CLI prints it (a streaming reply's lines are
/// plain text whatever the format).
pub async fn run(argv: &[String], node: &Node) -> Answer {
    let line = CommandLine::from_argv(argv);
    let format = line.format.unwrap_or(Format::Human);
    let (reply, exit) = match admin::run(&line, node, &Caller::local()).await {
        Ok(reply) => (reply, 0),
        Err(error) => (error.to_reply(), 1),
    };
    if let Some(lines) = reply.take_stream() {
        return Answer {
            lines: Some(lines),
            frames: vec![Frame::Exit(0)],
        };
    }
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
    Answer::frames(frames)
}
