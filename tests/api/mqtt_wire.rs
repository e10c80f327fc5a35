//! Raw MQTT bytes over TCP: hand-built packets, a frame splitter and a packet reader with a
//! deadline. Self-contained (std + tokio) so that the benches include it too (`#[path]`).

#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The variable byte integer of `len` (MQTT §2.2.3 / v5 §1.5.5).
pub fn remaining_length(mut len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4);
    loop {
        let byte = u8::try_from(len % 128).expect("below 128");
        len /= 128;
        if len == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A packet: the fixed header byte, the remaining length, then `body`.
pub fn packet(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![header];
    out.extend(remaining_length(body.len()));
    out.extend_from_slice(body);
    out
}

/// A two-byte-length-prefixed string.
pub fn string(text: &[u8]) -> Vec<u8> {
    let len = u16::try_from(text.len()).expect("an MQTT string fits 64 KiB");
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(text);
    out
}

/// A CONNECT at protocol `level` (4 = 3.1.1, 5 = 5.0) with clean session, `keep_alive` seconds
/// and `client_id`.
pub fn connect(level: u8, client_id: &str, keep_alive: u16) -> Vec<u8> {
    connect_session(level, client_id, keep_alive, true)
}

/// [`connect`] with a persistent session (clean session / clean start off) unless `clean`.
pub fn connect_session(level: u8, client_id: &str, keep_alive: u16, clean: bool) -> Vec<u8> {
    let mut body = string(b"MQTT");
    body.extend_from_slice(&[level, if clean { 0x02 } else { 0x00 }]);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.push(0); // no properties
    }
    body.extend(string(client_id.as_bytes()));
    packet(0x10, &body)
}

/// A SUBSCRIBE with `packet_id` asking QoS 0 for each of `filters`.
pub fn subscribe(level: u8, packet_id: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if level == 5 {
        body.push(0);
    }
    for filter in filters {
        body.extend(string(filter.as_bytes()));
        body.push(0);
    }
    packet(0x82, &body)
}

/// A QoS 0 PUBLISH of `payload` to `topic`.
pub fn publish(level: u8, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = string(topic.as_bytes());
    if level == 5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(0x30, &body)
}

/// PINGREQ.
pub const PINGREQ: &[u8] = &[0xc0, 0x00];

/// A variable byte integer at the start of `bytes`: `Ok(Some((value, bytes used)))`, `Ok(None)`
/// when it is cut short, `Err` when it runs over 4 bytes.
pub fn varint(bytes: &[u8]) -> Result<Option<(usize, usize)>, String> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().enumerate() {
        if i == 4 {
            return Err(format!(
                "a variable byte integer over 4 bytes: {bytes:02x?}"
            ));
        }
        value += usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Ok(None)
}

/// The first complete packet at the start of `buf`: `Ok(Some((header, body start, end)))`,
/// `Ok(None)` when more bytes are needed, `Err` when the remaining length is malformed.
pub fn frame(buf: &[u8]) -> Result<Option<(u8, usize, usize)>, String> {
    let Some(&header) = buf.first() else {
        return Ok(None);
    };
    let Some((len, used)) = varint(&buf[1..])? else {
        return Ok(None);
    };
    let start = 1 + used;
    Ok((buf.len() >= start + len).then_some((header, start, start + len)))
}

/// One packet as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub header: u8,
    pub body: Vec<u8>,
}

impl Packet {
    /// The packet type (the high nibble of the fixed header).
    pub fn kind(&self) -> u8 {
        self.header >> 4
    }
}

/// What a raw connection saw next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Packet(Packet),
    /// EOF or a reset.
    Closed,
    /// Nothing within the deadline.
    Silent,
}

/// A raw MQTT connection with its read buffer.
pub struct Wire {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self::from_stream(stream))
    }

    pub fn from_stream(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// The stream and the bytes read past the last packet returned.
    pub fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.buf)
    }

    /// Writes `bytes`; errors are the caller's to judge (a server may close early).
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Shuts the write side (the server reads EOF).
    pub async fn finish(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// The next packet, the close, or silence for `wait`. Malformed framing from the server
    /// is a panic: the node must not send it.
    pub async fn next(&mut self, wait: Duration) -> Event {
        let until = tokio::time::Instant::now() + wait;
        loop {
            match frame(&self.buf) {
                Ok(Some((header, start, end))) => {
                    let body = self.buf[start..end].to_vec();
                    self.buf.drain(..end);
                    return Event::Packet(Packet { header, body });
                }
                Ok(None) => {}
                Err(e) => panic!("the server sent {e}"),
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(until, self.stream.read(&mut chunk)).await {
                Ok(Ok(0) | Err(_)) => return Event::Closed,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return Event::Silent,
            }
        }
    }

    /// Sends a CONNECT (keep-alive 60 s) and waits `wait` for an accepting CONNACK.
    pub async fn handshake(
        &mut self,
        level: u8,
        client_id: &str,
        wait: Duration,
    ) -> Result<(), String> {
        self.handshake_with(level, client_id, 60, wait).await
    }

    /// Sends a CONNECT with `keep_alive` seconds and waits `wait` for an accepting CONNACK.
    pub async fn handshake_with(
        &mut self,
        level: u8,
        client_id: &str,
        keep_alive: u16,
        wait: Duration,
    ) -> Result<(), String> {
        self.send(&connect(level, client_id, keep_alive))
            .await
            .map_err(|e| format!("CONNECT not sent: {e}"))?;
        match self.next(wait).await {
            Event::Packet(p) if p.kind() == 2 && p.body.get(1) == Some(&0) => Ok(()),
            other => Err(format!("no accepting CONNACK for {client_id}: {other:?}")),
        }
    }
}
