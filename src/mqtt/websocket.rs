//! MQTT over WebSocket: the HTTP upgrade (path `/mqtt`, subprotocol `mqtt` or `mqttv3.1`, as
//! VerneMQ), then the binary frames as one byte stream that the MQTT codec reads like TCP.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The path VerneMQ serves MQTT over WebSocket on.
pub const PATH: &str = "/mqtt";

/// The subprotocols accepted, in order of preference.
const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];

/// Largest WebSocket message accepted; an MQTT packet is at most 256 MiB, but a listener has
/// no business buffering that much for one frame.
const MAX_MESSAGE: usize = 16 << 20;

/// Runs the upgrade on `stream`; on success the WebSocket carries MQTT as bytes.
pub async fn accept<S>(stream: S) -> Result<WsBytes<S>, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let ws =
        tokio_tungstenite::accept_hdr_async_with_config(stream, negotiate, Some(config)).await?;
    Ok(WsBytes {
        ws,
        pending: Bytes::new(),
        closed: false,
    })
}

/// Checks the path and picks the subprotocol. A client that offers subprotocols must offer an
/// MQTT one (a browser fails a handshake whose answer names one it did not offer); a client
/// that offers none is served without one.
#[allow(clippy::result_large_err)] // the shape tungstenite's callback must have
fn negotiate(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() != PATH {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "MQTT over WebSocket is served on /mqtt",
        ));
    }
    let offered: Vec<&str> = request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    if offered.is_empty() {
        return Ok(response);
    }
    match SUBPROTOCOLS.iter().find(|p| offered.contains(p)) {
        Some(chosen) => {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static(chosen));
            Ok(response)
        }
        None => Err(refusal(
            StatusCode::BAD_REQUEST,
            "offer the WebSocket subprotocol mqtt",
        )),
    }
}

fn refusal(status: StatusCode, text: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(text.to_owned()));
    *response.status_mut() = status;
    response
}

/// A WebSocket seen as a byte stream: reads concatenate binary messages, each write is sent as
/// one binary message. A text message is a protocol error and fails the read, which closes
/// the connection; a close message reads as end of stream.
pub struct WsBytes<S> {
    ws: WebSocketStream<S>,
    /// The unread rest of the last binary message.
    pending: Bytes,
    closed: bool,
}

impl<S> AsyncRead for WsBytes<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.pending.is_empty() {
            if this.closed {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => this.pending = data,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(_))) | None => this.closed = true,
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a WebSocket text message; MQTT travels in binary messages",
                    )))
                }
                Some(Err(error)) => return Poll::Ready(Err(io_error(error))),
            }
        }
        let n = buf.remaining().min(this.pending.len());
        buf.put_slice(&this.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl<S> AsyncWrite for WsBytes<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let ws = &mut self.get_mut().ws;
        ready!(Pin::new(&mut *ws).poll_ready(cx)).map_err(io_error)?;
        let message = Message::Binary(Bytes::copy_from_slice(buf));
        Pin::new(ws).start_send(message).map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().ws)
            .poll_flush(cx)
            .map_err(io_error)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.get_mut().ws).poll_close(cx)) {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Poll::Ready(Ok(())),
            Err(error) => Poll::Ready(Err(io_error(error))),
        }
    }
}

fn io_error(error: WsError) -> io::Error {
    match error {
        WsError::Io(error) => error,
        other => io::Error::other(other),
    }
}
