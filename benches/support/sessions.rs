//! Sessions for the listing benches: many MQTT 3.1.1 clients connected over loopback, some
//! kept open, some persistent and gone offline.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// MQTT connections opened at once while the sessions are set up.
const CONNECT_BATCH: usize = 500;

/// Connects `online + offline` MQTT 3.1.1 clients `<prefix>00000`…; the last `offline` ones
/// have persistent sessions and hang up after their CONNACK. Answers the open connections.
pub async fn open_sessions(
    mqtt: SocketAddr,
    prefix: &str,
    online: usize,
    offline: usize,
) -> Vec<TcpStream> {
    let mut open = Vec::with_capacity(online);
    let ids: Vec<usize> = (0..online + offline).collect();
    for batch in ids.chunks(CONNECT_BATCH) {
        let connects = batch
            .iter()
            .map(|&i| connect(mqtt, format!("{prefix}{i:05}"), i < online));
        for (stream, keep) in futures_util::future::join_all(connects).await {
            if keep {
                open.push(stream);
            }
        }
    }
    open
}

/// One CONNECT (keep-alive off; clean session when `clean`) and its accepting CONNACK.
async fn connect(mqtt: SocketAddr, id: String, clean: bool) -> (TcpStream, bool) {
    let mut body = vec![
        0,
        4,
        b'M',
        b'Q',
        b'T',
        b'T',
        4,
        if clean { 0x02 } else { 0x00 },
        0,
        0,
    ];
    body.extend(u16::try_from(id.len()).expect("short id").to_be_bytes());
    body.extend(id.as_bytes());
    let mut packet = vec![0x10, u8::try_from(body.len()).expect("short packet")];
    packet.extend(body);
    let mut stream = TcpStream::connect(mqtt).await.expect("connect");
    stream.write_all(&packet).await.expect("CONNECT");
    let mut ack = [0u8; 4];
    stream.read_exact(&mut ack).await.expect("CONNACK");
    assert_eq!((ack[0], ack[3]), (0x20, 0), "{id} refused");
    (stream, clean)
}
