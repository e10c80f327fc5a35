//! `vmq-admin`: sends its arguments to the local node's admin socket and prints the answer.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;

use vmq_node::admin_socket::{Frame, Request};

fn main() -> ExitCode {
    let (data_dir, argv) = split_data_dir(std::env::args().skip(1).collect());
    let socket = data_dir.join("vmq-admin.sock");
    match talk(&socket, argv) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!(
                "vmq-admin: cannot reach the node at {}: {error}\n\
                 Is vmq-node running? Point at its data directory with --data-dir DIR or VMQ_DATA_DIR.",
                socket.display()
            );
            ExitCode::from(1)
        }
    }
}

/// Takes `--data-dir DIR` / `--data-dir=DIR` out of argv; else `VMQ_DATA_DIR`, else `./data`.
fn split_data_dir(args: Vec<String>) -> (PathBuf, Vec<String>) {
    let mut data_dir = std::env::var_os("VMQ_DATA_DIR").map(PathBuf::from);
    let mut rest = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--data-dir" {
            data_dir = args.next().map(PathBuf::from);
        } else if let Some(dir) = arg.strip_prefix("--data-dir=") {
            data_dir = Some(PathBuf::from(dir));
        } else {
            rest.push(arg);
        }
    }
    (data_dir.unwrap_or_else(|| PathBuf::from("./data")), rest)
}

fn talk(socket: &std::path::Path, argv: Vec<String>) -> std::io::Result<i32> {
    let mut stream = UnixStream::connect(socket)?;
    let mut request = serde_json::to_string(&Request { argv })?;
    request.push('\n');
    stream.write_all(request.as_bytes())?;
    for line in BufReader::new(stream).lines() {
        match serde_json::from_str::<Frame>(&line?)? {
            Frame::Stdout(text) => {
                // Streamed lines (`trace client`) show as they come, also through a pipe.
                let mut stdout = std::io::stdout().lock();
                if stdout.write_all(text.as_bytes()).is_err() || stdout.flush().is_err() {
                    // The reader went (`| head`): stop quietly; closing the socket stops a trace.
                    return Ok(1);
                }
            }
            Frame::Stderr(text) => eprint!("{text}"),
            Frame::Exit(code) => return Ok(code),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "the node closed the connection early",
    ))
}
