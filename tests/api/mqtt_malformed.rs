//! MQTT conformance on bad packets: a table of hand-written bytes sent before, instead of or
//! after a valid CONNECT (3.1.1 and 5.0), each with what the spec lets the server answer before
//! it closes; after every row a bystander client still round-trips a message.

use std::time::{Duration, Instant};

use crate::mqtt_support::{assert_round_trip, connect_v4, mqtt_addr, DEADLINE};
use crate::mqtt_wire::{varint, Event, Packet, Wire, PINGREQ};
use crate::support::TestNode;

mod rows;

/// How long a client has to finish its CONNECT on the test node.
const CONNECT_TIMEOUT_MS: u64 = 1000;
/// `max_message_size` of the test node.
const MAX_MESSAGE_SIZE: usize = 1024;

/// A packet the server may answer with: its type and its reason codes (CONNACK: the return
/// code; DISCONNECT: the reason code; SUBACK/UNSUBACK: one per filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reply {
    kind: u8,
    codes: &'static [u8],
}

const fn connack(codes: &'static [u8]) -> Reply {
    Reply { kind: 2, codes }
}

const fn disconnect(codes: &'static [u8]) -> Reply {
    Reply { kind: 14, codes }
}

/// 3.1.1 CONNACK 0x01 unacceptable protocol version.
const CONNACK_LEVEL: Reply = connack(&[0x01]);
/// 3.1.1 CONNACK 0x02 identifier rejected.
const CONNACK_ID: Reply = connack(&[0x02]);
/// MQTT 5 CONNACK reason codes.
const CONNACK_MALFORMED: Reply = connack(&[0x81]);
const CONNACK_PROTOCOL: Reply = connack(&[0x82]);
const CONNACK_VERSION: Reply = connack(&[0x84]);
const CONNACK_BAD_ID: Reply = connack(&[0x85]);
/// MQTT 5 DISCONNECT reason codes.
const MALFORMED: Reply = disconnect(&[0x81]);
const PROTOCOL: Reply = disconnect(&[0x82]);
const FILTER_INVALID: Reply = disconnect(&[0x8f]);
const TOPIC_INVALID: Reply = disconnect(&[0x90]);
const ALIAS_INVALID: Reply = disconnect(&[0x94]);
const TOO_LARGE: Reply = disconnect(&[0x95]);
/// SUBACK refusing the one filter: 3.1.1 0x80 failure, MQTT 5 0x8F topic filter invalid.
/// Answers to the control rows.
const CONNACK_OK: Reply = connack(&[0x00]);
const PINGRESP: Reply = Reply {
    kind: 13,
    codes: &[],
};
const SUBACK_GRANTED: Reply = Reply {
    kind: 9,
    codes: &[0x00],
};
/// 3.1.1 PUBACK of packet id 1 (its "codes" are the whole body).
const PUBACK_1: Reply = Reply {
    kind: 4,
    codes: &[0x00, 0x01],
};
const SUBACK_FAILURE: Reply = Reply {
    kind: 9,
    codes: &[0x80],
};
const SUBACK_INVALID: Reply = Reply {
    kind: 9,
    codes: &[0x8f],
};

/// What the spec lets the server do after a row's bytes.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Close without an answer.
    Close,
    /// Close, silently or right after one of these (a MAY or SHOULD of the spec).
    CloseMay(&'static [Reply]),
    /// Close right after this answer (a MUST of the spec).
    CloseAfter(Reply),
    /// Answer this and stay open; or close, silently or after one of these.
    AnswerOrClose(Reply, &'static [Reply]),
    /// Answer this and stay open (a control row: valid bytes close to the bad ones).
    Open(Reply),
}

impl Outcome {
    fn silent_close(self) -> bool {
        !matches!(self, Outcome::CloseAfter(_) | Outcome::Open(_))
    }

    fn close_after(self, seen: &Seen) -> bool {
        match self {
            Outcome::Close | Outcome::Open(_) => false,
            Outcome::CloseAfter(reply) => seen.is(reply),
            Outcome::CloseMay(may) | Outcome::AnswerOrClose(_, may) => {
                may.iter().any(|r| seen.is(*r))
            }
        }
    }

    fn stay_open_after(self, seen: &Seen) -> bool {
        matches!(self, Outcome::AnswerOrClose(reply, _) | Outcome::Open(reply) if seen.is(reply))
    }
}

/// A received packet reduced to what a [`Reply`] names.
#[derive(Debug)]
struct Seen {
    kind: u8,
    codes: Vec<u8>,
}

impl Seen {
    fn of(level: u8, packet: &Packet) -> Self {
        let body = &packet.body;
        let codes = match packet.kind() {
            2 => body.get(1..2).unwrap_or_default().to_vec(),
            14 => vec![body.first().copied().unwrap_or(0)],
            9 | 11 => {
                let after_id = body.get(2..).unwrap_or_default();
                let skip = match (level, varint(after_id)) {
                    (5, Ok(Some((len, used)))) => len + used,
                    _ => 0,
                };
                after_id.get(skip..).unwrap_or_default().to_vec()
            }
            _ => body.clone(),
        };
        Self {
            kind: packet.kind(),
            codes,
        }
    }

    fn is(&self, reply: Reply) -> bool {
        self.kind == reply.kind && self.codes == reply.codes
    }
}

/// One row of the table.
#[derive(Debug)]
pub struct Row {
    name: &'static str,
    /// 4 = 3.1.1, 5 = 5.0.
    level: u8,
    /// Whether a valid CONNECT (and its CONNACK) comes first.
    connected: bool,
    bytes: Vec<u8>,
    /// Whether the client then shuts its write side (EOF); otherwise it stays silent.
    eof: bool,
    expect: Outcome,
}

/// A row whose bytes open the connection (instead of a valid CONNECT).
fn fresh(level: u8, name: &'static str, bytes: &[u8], expect: Outcome) -> Row {
    Row {
        name,
        level,
        connected: false,
        bytes: bytes.to_vec(),
        eof: false,
        expect,
    }
}

/// A row whose bytes follow a valid CONNECT.
fn after(level: u8, name: &'static str, bytes: &[u8], expect: Outcome) -> Row {
    Row {
        connected: true,
        ..fresh(level, name, bytes, expect)
    }
}

impl Row {
    /// The client shuts its write side after the bytes.
    fn eof(self) -> Self {
        Self { eof: true, ..self }
    }

    /// Runs the row on a fresh connection; `Err` says what the server did instead.
    async fn check(&self, node: &TestNode, client_id: &str) -> Result<(), String> {
        let mut wire = Wire::connect(mqtt_addr(node))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        if self.connected {
            wire.handshake(self.level, client_id, DEADLINE).await?;
        }
        // The server may close before it read everything: write errors are not failures.
        let _ = wire.send(&self.bytes).await;
        if self.eof {
            wire.finish().await;
        }
        let seen = match wire.next(DEADLINE).await {
            Event::Closed if self.expect.silent_close() => return Ok(()),
            Event::Closed => return Err(format!("closed without {:?}", self.expect)),
            Event::Silent => return Err(format!("left open for {DEADLINE:?}")),
            Event::Packet(packet) => Seen::of(self.level, &packet),
        };
        if self.expect.stay_open_after(&seen) {
            let _ = wire.send(PINGREQ).await;
            return match wire.next(DEADLINE).await {
                Event::Packet(p) if p.kind() == 13 => Ok(()),
                other => Err(format!("after {seen:?} a PINGREQ got {other:?}")),
            };
        }
        if !self.expect.close_after(&seen) {
            return Err(format!("answered {seen:?}"));
        }
        match wire.next(DEADLINE).await {
            Event::Closed => Ok(()),
            other => Err(format!("after {seen:?}: {other:?} instead of a close")),
        }
    }
}

/// Runs every row on one node, a bystander round-tripping a message after each; panics with
/// every failed row at the end.
async fn run_table(rows: Vec<Row>) {
    let node = TestNode::start_with(&format!(
        "mqtt_connect_timeout = {CONNECT_TIMEOUT_MS}\nmax_message_size = {MAX_MESSAGE_SIZE}"
    ))
    .await;
    let mut bystander = connect_v4(&node, "bystander").await;
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let client_id = format!("row-{}-{i}", row.level);
        if let Err(why) = row.check(&node, &client_id).await {
            failures.push(format!("{} (v{}): {why}", row.name, row.level));
        }
        assert_round_trip(&mut bystander, &format!("alive/{}/{i}", row.level)).await;
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    drop(bystander);
    node.stop().await;
}

/// A PUBLISH of 2000 bytes (over `MAX_MESSAGE_SIZE`): header and topic by hand, then filler.
fn oversized(level: u8) -> Vec<u8> {
    let head: &[u8] = match level {
        4 => b"\x30\xd0\x0f\x00\x01a",
        _ => b"\x30\xd0\x0f\x00\x01a\x00",
    };
    let mut bytes = head.to_vec();
    // The fixed header is 3 bytes: 0x30 and the remaining length 0xd0 0x0f (2000).
    bytes.resize(3 + 2000, b'x');
    bytes
}

#[tokio::test]
async fn malformed_3_1_1_packets_close_the_connection() {
    run_table(rows::v4(oversized(4))).await;
}

#[tokio::test]
async fn malformed_5_0_packets_close_the_connection() {
    run_table(rows::v5(oversized(5))).await;
}

#[tokio::test]
async fn an_unfinished_connect_is_closed_after_the_connect_timeout() {
    let node = TestNode::start_with(&format!("mqtt_connect_timeout = {CONNECT_TIMEOUT_MS}")).await;
    let started = Instant::now();
    let mut wire = Wire::connect(mqtt_addr(&node)).await.expect("connect");
    wire.send(b"\x10\x0d\x00\x04MQTT\x04").await.expect("write");
    assert_eq!(wire.next(DEADLINE).await, Event::Closed);
    let took = started.elapsed();
    let timeout = Duration::from_millis(CONNECT_TIMEOUT_MS);
    assert!(took >= timeout * 9 / 10, "closed early: {took:?}");
    node.stop().await;
}
