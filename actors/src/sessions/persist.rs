//! What the store keeps of a persistent session, and how a node's start restores it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::message::{encode, Message, SubOptions};
use super::registry::SessionExpiry;
use crate::store::LoadedSession;

/// The stored record of a persistent session (its messages are stored beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Subscriptions by filter.
    pub subscriptions: Vec<(String, SubOptions)>,
    /// Seconds the session outlives its connection; `None` = never expires.
    pub expiry_secs: Option<u64>,
    /// When the session was created, POSIX milliseconds.
    pub started_at_ms: i64,
    /// When it went offline (`None` while online), POSIX milliseconds.
    pub offline_since_ms: Option<i64>,
}

impl SessionRecord {
    /// Encodes for the store.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// The session's expiry.
    pub fn expiry(&self) -> SessionExpiry {
        match self.expiry_secs {
            Some(secs) => SessionExpiry::After(Duration::from_secs(secs)),
            None => SessionExpiry::Never,
        }
    }

    /// How long the session has left at `now_ms` (`None`: never expires).
    pub fn remaining(&self, now_ms: i64) -> Option<Duration> {
        let secs = self.expiry_secs?;
        let offline_for = now_ms - self.offline_since_ms.unwrap_or(now_ms);
        let left = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX) - offline_for;
        Some(Duration::from_millis(u64::try_from(left).unwrap_or(0)))
    }
}

/// The expiry in the record's form.
pub fn expiry_secs(expiry: SessionExpiry) -> Option<u64> {
    match expiry {
        SessionExpiry::Never => None,
        SessionExpiry::After(after) => Some(after.as_secs()),
    }
}

/// A stored session decoded: its record, its messages and the last sequence number used.
/// `None` when the record is unreadable (the session is dropped with a warning).
pub fn decode(loaded: &LoadedSession) -> Option<(SessionRecord, Vec<Message>, u64)> {
    let record: SessionRecord = ciborium::from_reader(&loaded.record[..]).ok()?;
    let last_seq = loaded.messages.last().map_or(0, |(seq, _)| *seq);
    let messages = loaded
        .messages
        .iter()
        .filter_map(|(_, bytes)| Message::decode(bytes))
        .collect();
    Some((record, messages, last_seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionKey;

    #[test]
    fn a_record_round_trips_and_counts_down_its_expiry() {
        let record = SessionRecord {
            subscriptions: vec![("a/#".to_owned(), SubOptions::v3(1))],
            expiry_secs: Some(60),
            started_at_ms: 1,
            offline_since_ms: Some(10_000),
        };
        let loaded = LoadedSession {
            key: SessionKey::new("", "c"),
            record: record.encode(),
            messages: vec![(4, b"garbage".to_vec())],
        };
        let (back, messages, last_seq) = decode(&loaded).expect("decodes");
        assert_eq!(back, record);
        assert!(messages.is_empty(), "an unreadable message is skipped");
        assert_eq!(last_seq, 4);
        assert_eq!(record.remaining(40_000), Some(Duration::from_secs(30)));
        assert_eq!(record.remaining(100_000), Some(Duration::ZERO));
        let never = SessionRecord {
            expiry_secs: None,
            ..record
        };
        assert_eq!(never.remaining(0), None);
    }
}
