//! QoS 0 publish throughput over loopback, 1 → 1 and 100 → 1: the messages per second one
//! subscriber receives from the built `vmq-node`, in the same run from a second `vmq-node` with
//! `metrics_enabled = off` (what counting costs), and from Debian's mosquitto (skipped when not
//! installed). Raw MQTT 3.1.1 bytes, publishes written in batches, so the client is not the
//! bottleneck.
//!
//! `cargo bench --bench mqtt_throughput`: 5 alternating rounds of 2 s per broker and scenario;
//! `cargo test --benches` runs a smoke round (1 → 1, 10 → 1) that only checks messages arrive.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use support::wire::{self, Event, Wire};
use support::{full_run, median, Broker, MOSQUITTO};

const TOPIC: &str = "bench/t";
const PAYLOAD: &[u8] = b"0123456789abcdef";
/// PUBLISH packets per write.
const BATCH: usize = 128;
/// The publishers' socket send buffer, bytes.
const SEND_BUFFER: u32 = 64 * 1024;
/// How long a handshake, a SUBACK or (smoke run) the first message may take.
const DEADLINE: Duration = Duration::from_secs(10);

struct Plan {
    warmup: Duration,
    window: Duration,
    rounds: usize,
    /// Publisher counts, one scenario each.
    publishers: [usize; 2],
}

/// Messages per second in one round's window.
#[derive(Debug, Default, Clone, Copy)]
struct Rates {
    received: f64,
    sent: f64,
}

fn main() {
    let full = full_run();
    let plan = if full {
        Plan {
            warmup: Duration::from_millis(500),
            window: Duration::from_secs(2),
            rounds: 5,
            publishers: [1, 100],
        }
    } else {
        Plan {
            warmup: Duration::from_millis(50),
            window: Duration::from_millis(100),
            rounds: 1,
            publishers: [1, 10],
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut brokers = vec![
        Broker::node(),
        Broker::node_with("metrics off", "metrics_enabled = off\n"),
    ];
    match Broker::mosquitto() {
        Some(mosquitto) => brokers.push(mosquitto),
        None => println!("{MOSQUITTO} not installed: no mosquitto column"),
    }
    println!(
        "QoS 0, {}-byte payloads, {} alternating rounds of {} ms, medians of messages/s (received by the subscriber / accepted from the publishers)",
        PAYLOAD.len(),
        plan.rounds,
        plan.window.as_millis()
    );
    for publishers in plan.publishers {
        let mut rates = vec![Vec::new(); brokers.len()];
        for round in 0..plan.rounds {
            for (broker, rates) in brokers.iter().zip(&mut rates) {
                rates.push(runtime.block_on(measure(broker, publishers, round, &plan, full)));
                if full {
                    broker.settle();
                }
            }
        }
        report(publishers, &brokers, &rates);
    }
    // QoS 0 messages a broker accepted faster than it delivered wait somewhere: memory shows where.
    let rss: Vec<String> = brokers
        .iter()
        .map(|broker| format!("{} {} MiB", broker.name, broker.rss_kib() / 1024))
        .collect();
    println!("RSS after the runs: {}", rss.join(", "));
}

/// One line per scenario: each broker's medians, then vmq-node's ratios to the others.
fn report(publishers: usize, brokers: &[Broker], rates: &[Vec<Rates>]) {
    let medians: Vec<Rates> = rates
        .iter()
        .map(|rates| Rates {
            received: median(rates.iter().map(|r| r.received).collect()),
            sent: median(rates.iter().map(|r| r.sent).collect()),
        })
        .collect();
    let mut line = format!("{publishers:>3} → 1 ");
    for (broker, rates) in brokers.iter().zip(&medians) {
        line += &format!(
            "  {} {:>9.0} / {:>9.0}",
            broker.name, rates.received, rates.sent
        );
    }
    for (broker, rates) in brokers.iter().zip(&medians).skip(1) {
        line += &format!(
            "   vs {} {:.3}x",
            broker.name,
            medians[0].received / rates.received.max(1.0)
        );
    }
    println!("{line}");
}

/// One round: a subscriber, `publishers` flooding its topic; the rates over `plan.window` after
/// `plan.warmup`. A smoke run (`full` false) insists that messages arrive at all.
async fn measure(
    broker: &Broker,
    publishers: usize,
    round: usize,
    plan: &Plan,
    full: bool,
) -> Rates {
    let received = Arc::new(AtomicU64::new(0));
    let subscriber = subscriber(broker.addr, &format!("sub-{publishers}-{round}")).await;
    let counter = tokio::spawn(count_publishes(subscriber, Arc::clone(&received)));
    // Everyone connects before anyone floods: a flooded broker may be slow to accept.
    let mut streams = Vec::with_capacity(publishers);
    for k in 0..publishers {
        streams.push(publisher(broker.addr, &format!("pub-{publishers}-{round}-{k}")).await);
    }
    let sent = Arc::new(AtomicU64::new(0));
    let floods: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(flood(stream, Arc::clone(&sent))))
        .collect();
    tokio::time::sleep(plan.warmup).await;
    let count = || {
        (
            received.load(Ordering::Relaxed),
            sent.load(Ordering::Relaxed),
        )
    };
    let (started, (received_0, sent_0)) = (Instant::now(), count());
    tokio::time::sleep(plan.window).await;
    let (seconds, (received_1, sent_1)) = (started.elapsed().as_secs_f64(), count());
    if !full {
        let deadline = Instant::now() + DEADLINE;
        while received.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let got = received.load(Ordering::Relaxed);
        assert!(
            got > 0,
            "no message reached the subscriber of {}",
            broker.name
        );
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
async fn publisher(addr: SocketAddr, client_id: &str) -> TcpStream {
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
async fn subscriber(addr: SocketAddr, client_id: &str) -> (TcpStream, Vec<u8>) {
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
async fn count_publishes((mut stream, mut buf): (TcpStream, Vec<u8>), received: Arc<AtomicU64>) {
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
async fn flood(mut stream: TcpStream, sent: Arc<AtomicU64>) {
    let batch = wire::publish(4, TOPIC, PAYLOAD).repeat(BATCH);
    while stream.write_all(&batch).await.is_ok() {
        sent.fetch_add(BATCH as u64, Ordering::Relaxed);
    }
}
