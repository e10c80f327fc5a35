//! Flooding a topic with QoS 0 publishes over raw MQTT 3.1.1, as the throughput benches do: a
//! subscriber counting what arrives, publishers writing batches of PUBLISH packets (so the client
//! is not the bottleneck), and one measured round of both.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use super::wire::{self, Event, Wire};

pub const TOPIC: &str = "bench/t";
pub const PAYLOAD: &[u8] = b"0123456789abcdef";
/// PUBLISH packets per write.
const BATCH: usize = 128;
/// The publishers' socket send buffer, bytes.
const SEND_BUFFER: u32 = 64 * 1024;
/// How long a handshake, a SUBACK or (smoke run) the first message may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Messages per second in one round's window.
#[derive(Debug, Default, Clone, Copy)]
pub struct Rates {
    pub received: f64,
    pub sent: f64,
}

/// Where one round runs and how long it lasts.
pub struct Round<'a> {
    /// Where the publishers connect.
    pub publish_to: SocketAddr,
    /// Where the subscriber connects.
    pub subscribe_at: SocketAddr,
    /// Makes the round's client ids unique.
    pub tag: &'a str,
    pub warmup: Duration,
    pub window: Duration,
    /// A smoke run insists that messages arrive at all.
    pub smoke: bool,
}

/// One round: a subscriber, `publishers` flooding its topic; the rates over `round.window` after
/// `round.warmup`.
pub async fn measure(round: &Round<'_>, publishers: usize) -> Rates {
    let tag = round.tag;
    let received = Arc::new(AtomicU64::new(0));
    let subscriber = subscriber(round.subscribe_at, &format!("sub-{publishers}-{tag}")).await;
    let counter = tokio::spawn(count_publishes(subscriber, Arc::clone(&received)));
    // Everyone connects before anyone floods: a flooded broker may be slow to accept.
    let mut streams = Vec::with_capacity(publishers);
    for k in 0..publishers {
        streams.push(publisher(round.publish_to, &format!("pub-{publishers}-{tag}-{k}")).await);
    }
    let sent = Arc::new(AtomicU64::new(0));
    let floods: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(flood(stream, Arc::clone(&sent))))
        .collect();
    tokio::time::sleep(round.warmup).await;
    let count = || {
        (
            received.load(Ordering::Relaxed),
            sent.load(Ordering::Relaxed),
        )
    };
    let (started, (received_0, sent_0)) = (Instant::now(), count());
    tokio::time::sleep(round.window).await;
    let (seconds, (received_1, sent_1)) = (started.elapsed().as_secs_f64(), count());
    if round.smoke {
        let deadline = Instant::now() + DEADLINE;
        while received.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let got = received.load(Ordering::Relaxed);
        assert!(got > 0, "no message reached the subscriber ({tag})");
    }
    // A flood may be parked on a full socket: cut it rather than wait for the broker.
    for flood in floods {
        flood.abort();
    }
    counter.abort();
    Rates {
        received: (received_1 - received_0) as f64 / seconds,
        sent: (sent_1 - sent_0) as f64 / seconds,
    }
}

/// A connected 3.1.1 publisher with a small send buffer (the kernel default holds megabytes of
/// publishes, which would hide for seconds that the broker stopped reading).
pub async fn publisher(addr: SocketAddr, client_id: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_send_buffer_size(SEND_BUFFER).expect("SO_SNDBUF");
    let stream = socket.connect(addr).await.expect("publisher connects");
    stream.set_nodelay(true).expect("nodelay");
    let mut wire = Wire::from_stream(stream);
    wire.handshake(4, client_id, DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wire.into_parts().0
}

/// A connected 3.1.1 client subscribed to `TOPIC` at QoS 0: its stream and any bytes read past
/// the SUBACK.
pub async fn subscriber(addr: SocketAddr, client_id: &str) -> (TcpStream, Vec<u8>) {
    let mut wire = Wire::connect(addr).await.expect("subscriber connects");
    wire.handshake(4, client_id, DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wire.send(&wire::subscribe(4, 1, &[TOPIC]))
        .await
        .expect("SUBSCRIBE sent");
    match wire.next(DEADLINE).await {
        Event::Packet(p) if p.kind() == 9 && p.body.get(2) == Some(&0) => wire.into_parts(),
        other => panic!("no granting SUBACK: {other:?}"),
    }
}

/// Counts the PUBLISH packets arriving on `stream` into `received`, until the stream ends.
pub async fn count_publishes(
    (mut stream, mut buf): (TcpStream, Vec<u8>),
    received: Arc<AtomicU64>,
) {
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let mut at = 0;
        let mut publishes = 0;
        while let Ok(Some((header, _, end))) = wire::frame(&buf[at..]) {
            publishes += u64::from(header >> 4 == 3);
            at += end;
        }
        buf.drain(..at);
        received.fetch_add(publishes, Ordering::Relaxed);
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Writes `BATCH` QoS 0 PUBLISHes to `TOPIC` at a time until aborted or cut off.
pub async fn flood(mut stream: TcpStream, sent: Arc<AtomicU64>) {
    let batch = wire::publish(4, TOPIC, PAYLOAD).repeat(BATCH);
    while stream.write_all(&batch).await.is_ok() {
        sent.fetch_add(BATCH as u64, Ordering::Relaxed);
    }
}
