//! What nodes tell each other about routing, as CBOR frames on the peer topics below: a node's
//! subscription set (full, or one change with its sequence number), a beacon of where that set
//! stands, and on each node's acknowledged stream forwarded publishes and retained-message
//! updates. Every decode checks what it got: a peer's malformed frame is refused (`None`), never
//! a panic.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::outbox::{Ack, Resume};
use super::{validate_filter, validate_topic};
use crate::retain::RetainUpdate;
use crate::sessions::Message;

/// Cast: one change of the sender's subscription set ([`RouteDelta`]).
pub const ROUTE_DELTA: &str = "route/delta";
/// Call: answers the callee's full subscription set ([`RouteFull`]).
pub const ROUTE_FULL: &str = "route/full";
/// Cast: where the sender's subscription set stands ([`Beacon`]).
pub const ROUTE_BEACON: &str = "route/beacon";
/// Cast: a numbered frame of the sender's stream ([`super::outbox::sequenced`]) carrying a
/// publish for the receiver's local subscribers or retained-message updates ([`Carried`]).
pub const ROUTE_STREAM: &str = "route/stream";
/// Cast: the receiver delivered the sender's stream up to a number ([`Ack`]).
pub const ROUTE_ACK: &str = "route/ack";
/// Cast (empty): a frame of the sender's stream came out of sequence; the sender should resume.
pub const ROUTE_RESYNC: &str = "route/resync";
/// Call: the sender resumes its stream ([`Resume`]); the answer is the number of the last frame
/// the receiver delivered (a `u64`).
pub const ROUTE_RESUME: &str = "route/resume";
/// Call: answers the retained messages and clears the callee knows after a cursor, one
/// [`RetainPage`] at a time (the request is the cursor, `Option<(mountpoint, topic)>`).
pub const RETAIN_FULL: &str = "retain/full";

/// The largest payload a frame carries: the fabric closes a connection that sends a frame over
/// 16 MiB, so bigger messages stay on their node.
pub const MAX_PAYLOAD: usize = 15 * 1024 * 1024;
/// Roughly how many bytes of retained messages one page holds.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Where a page of retained messages ends: (mountpoint, topic).
pub type Cursor = Option<(String, String)>;

/// One answer to a retained-message pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainPage {
    /// Updates in (mountpoint, topic) order.
    pub updates: Vec<RetainUpdate>,
    /// Where the next page starts, if there is one.
    pub next: Cursor,
}

fn key(update: &RetainUpdate) -> (&str, &str) {
    (&update.mountpoint, &update.topic)
}

/// Roughly what an update weighs on the wire.
fn weight(update: &RetainUpdate) -> usize {
    let payload = update.message.as_ref().map_or(0, |m| m.payload.len());
    payload + update.topic.len() + update.mountpoint.len() + 64
}

/// Whether an update fits in a frame (else it is not sent, with a warning).
pub fn fits(update: &RetainUpdate) -> bool {
    let fits = weight(update) <= MAX_PAYLOAD;
    if !fits {
        tracing::warn!(topic = %update.topic, "retained message too big for the cluster: not sent");
    }
    fits
}

impl RetainPage {
    /// The page of `all` after `after`, up to about [`PAGE_BYTES`] (one update at least).
    pub fn of(mut all: Vec<RetainUpdate>, after: &Cursor) -> Self {
        all.sort_by(|a, b| key(a).cmp(&key(b)));
        let start = after.as_ref().map_or(0, |(mountpoint, topic)| {
            all.partition_point(|u| key(u) <= (mountpoint.as_str(), topic.as_str()))
        });
        let (mut updates, mut size, mut next) = (Vec::new(), 0, None);
        for update in all.drain(start..).filter(fits) {
            if size >= PAGE_BYTES {
                next = updates
                    .last()
                    .map(|u: &RetainUpdate| (u.mountpoint.clone(), u.topic.clone()));
                break;
            }
            size += weight(&update);
            updates.push(update);
        }
        Self { updates, next }
    }
}

/// Where a node's subscription set stands: `epoch` is drawn at start, `seq` counts its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// Changes with another epoch are from another run of the node.
    pub epoch: u64,
    /// The number of the last change.
    pub seq: u64,
}

/// A node's whole subscription set as of `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFull {
    /// The set's version.
    pub at: Beacon,
    /// Every (mountpoint, filter) with a local subscriber.
    pub filters: Vec<(String, String)>,
}

/// One change to a node's subscription set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDelta {
    /// The version this change makes.
    pub at: Beacon,
    /// Added (first subscriber) or removed (last one gone).
    pub added: bool,
    /// The mountpoint.
    pub mountpoint: String,
    /// The filter, `$share/…` included.
    pub filter: String,
}

/// A publish handed to a peer for its local subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    /// The mountpoint.
    pub mountpoint: String,
    /// The share groups the receiver serves for this message.
    pub groups: Vec<String>,
    /// The message.
    pub message: Message,
}

/// [`Forwarded`] as the sender encodes it, borrowing the message.
#[derive(Debug, Serialize)]
pub struct ForwardedRef<'a> {
    /// The mountpoint.
    pub mountpoint: &'a str,
    /// The share groups the receiver serves.
    pub groups: Vec<&'a str>,
    /// The message.
    pub message: &'a Message,
}

/// Encodes a frame.
pub fn encode<T: Serialize>(frame: &T) -> Vec<u8> {
    crate::sessions::encode_record(frame)
}

/// The first byte of a stream frame's body: a forwarded publish.
const PUBLISH_TAG: u8 = 0;
/// The first byte of a stream frame's body: retained messages set or cleared on the sender.
const RETAINED_TAG: u8 = 1;

/// What a stream frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carried {
    /// A publish for the receiver's local subscribers.
    Publish(Forwarded),
    /// Retained messages set or cleared on the sender.
    Retained(Vec<RetainUpdate>),
}

fn tagged<T: Serialize>(tag: u8, frame: &T) -> Vec<u8> {
    let mut body = vec![tag];
    // Writing into a Vec cannot fail, and frames always serialize.
    let _ = ciborium::into_writer(frame, &mut body);
    body
}

/// A stream body carrying a forwarded publish.
pub fn encode_publish(frame: &ForwardedRef<'_>) -> Vec<u8> {
    tagged(PUBLISH_TAG, frame)
}

/// A stream body carrying retained-message updates.
pub fn encode_retained(updates: &[RetainUpdate]) -> Vec<u8> {
    tagged(RETAINED_TAG, &updates)
}

/// Decodes a stream body; refused if it is malformed or names an invalid topic.
pub fn decode_carried(body: &[u8]) -> Option<Carried> {
    let (tag, rest) = body.split_first()?;
    match *tag {
        PUBLISH_TAG => decode_forwarded(rest).map(Carried::Publish),
        RETAINED_TAG => decode_retained(rest).map(Carried::Retained),
        _ => None,
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    ciborium::from_reader(bytes).ok()
}

/// Decodes a beacon.
pub fn decode_beacon(bytes: &[u8]) -> Option<Beacon> {
    decode(bytes)
}

/// Decodes a full set; refused if a filter is not valid.
pub fn decode_full(bytes: &[u8]) -> Option<RouteFull> {
    let full: RouteFull = decode(bytes)?;
    full.filters
        .iter()
        .all(|(_, filter)| validate_filter(filter).is_ok())
        .then_some(full)
}

/// Decodes a change; refused if its filter is not valid.
pub fn decode_delta(bytes: &[u8]) -> Option<RouteDelta> {
    let delta: RouteDelta = decode(bytes)?;
    validate_filter(&delta.filter).ok().map(|()| delta)
}

/// Decodes a forwarded publish; refused if its topic is not a valid topic name.
fn decode_forwarded(bytes: &[u8]) -> Option<Forwarded> {
    let forwarded: Forwarded = decode(bytes)?;
    validate_topic(&forwarded.message.topic)
        .ok()
        .map(|()| forwarded)
}

/// Decodes retained-message updates; refused if a topic is not a valid topic name.
fn decode_retained(bytes: &[u8]) -> Option<Vec<RetainUpdate>> {
    let updates: Vec<RetainUpdate> = decode(bytes)?;
    updates
        .iter()
        .all(|u| validate_topic(&u.topic).is_ok())
        .then_some(updates)
}

/// Decodes a page of retained-message updates; refused if a topic is not a valid topic name.
pub fn decode_page(bytes: &[u8]) -> Option<RetainPage> {
    let page: RetainPage = decode(bytes)?;
    page.updates
        .iter()
        .all(|u| validate_topic(&u.topic).is_ok())
        .then_some(page)
}

/// Decodes a pull's cursor.
pub fn decode_cursor(bytes: &[u8]) -> Option<Cursor> {
    decode(bytes)
}

/// Decodes a stream acknowledgement.
pub fn decode_ack(bytes: &[u8]) -> Option<Ack> {
    decode(bytes)
}

/// Decodes a resume request.
pub fn decode_resume(bytes: &[u8]) -> Option<Resume> {
    decode(bytes)
}

/// Decodes the answer to a resume: the last frame delivered.
pub fn decode_delivered(bytes: &[u8]) -> Option<u64> {
    decode(bytes)
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
