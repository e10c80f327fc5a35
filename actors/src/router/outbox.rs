//! Forwarded publishes as one acknowledged stream per peer, so that none is lost to a dropped
//! connection or a partition: the sender numbers each frame and keeps it ([`Outbox`], bounded in
//! bytes like VerneMQ's `outgoing_clustering_buffer_size`) until the peer acknowledges it; the
//! receiver ([`Inbox`]) takes frames only in sequence and acknowledges what it delivered. After
//! a reconnect (or a stall) the sender resumes: the peer tells how far it got, and the rest is
//! sent again, so every frame is delivered once.

use std::collections::VecDeque;

/// Frames the receiver takes before it acknowledges them without waiting for the next tick.
pub const ACK_EVERY: u64 = 256;
/// Watch ticks without acknowledgement progress, with frames outstanding, before a resume.
pub const STALL_TICKS: u32 = 8;

/// Where the sender's stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The peer is not reachable: frames are kept.
    Down,
    /// A resume (number `id`) is asking the peer how far it got: frames are kept.
    Resuming { id: u64 },
    /// Frames go out as they come.
    Live,
}

/// What became of a frame handed to [`Outbox::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Kept, and to be sent now with this header.
    Send(Vec<u8>),
    /// Kept, to be sent once the peer is back.
    Held,
    /// The buffer is full: dropped (`first`: the first drop since there was room).
    Dropped {
        /// Whether the buffer just became full.
        first: bool,
    },
}

/// The sender's side of the stream to one peer.
#[derive(Debug)]
pub struct Outbox {
    /// This node's run: a receiver that sees another one knows the sender restarted.
    epoch: u64,
    /// The number of the next frame.
    next_seq: u64,
    /// Frames not yet acknowledged, in order, with their numbers; each one is sent whole.
    pending: VecDeque<(u64, Vec<u8>)>,
    /// Their bytes.
    bytes: usize,
    /// At most this many bytes are kept.
    limit: usize,
    phase: Phase,
    /// Numbers resumes, so that an answer to an older one is ignored.
    resumes: u64,
    /// Ticks since the last acknowledgement, while frames were outstanding.
    stalled: u32,
    /// Frames were dropped since the buffer last had room.
    full: bool,
}

impl Outbox {
    /// An empty stream of run `epoch`, keeping at most `limit` bytes; down until resumed.
    pub fn new(epoch: u64, limit: usize) -> Self {
        Self {
            epoch,
            next_seq: 1,
            pending: VecDeque::new(),
            bytes: 0,
            limit,
            phase: Phase::Down,
            resumes: 0,
            stalled: 0,
            full: false,
        }
    }

    /// Numbers `body` and keeps it until acknowledged; answers the frame to send now, if live.
    pub fn push(&mut self, body: &[u8]) -> Pushed {
        let frame = sequenced(self.epoch, self.next_seq, body);
        if self.bytes + frame.len() > self.limit {
            let first = !self.full;
            self.full = true;
            return Pushed::Dropped { first };
        }
        self.full = false;
        self.bytes += frame.len();
        let send = (self.phase == Phase::Live).then(|| frame.clone());
        self.pending.push_back((self.next_seq, frame));
        self.next_seq += 1;
        send.map_or(Pushed::Held, Pushed::Send)
    }

    /// The peer delivered every frame up to `seq` of run `epoch`: they are let go.
    pub fn acked(&mut self, epoch: u64, seq: u64) {
        if epoch != self.epoch {
            return;
        }
        let before = self.pending.len();
        while let Some((_, frame)) = self.pending.front().filter(|(s, _)| *s <= seq) {
            self.bytes -= frame.len();
            self.pending.pop_front();
        }
        if self.pending.len() < before {
            self.stalled = 0;
        }
    }

    /// The connection went: frames are kept until a resume.
    pub fn went_down(&mut self) {
        self.phase = Phase::Down;
        self.stalled = 0;
    }

    /// Called every watch tick: whether to resume now (the peer is `connected` and the stream is
    /// down, or live but without acknowledgements for [`STALL_TICKS`] ticks).
    pub fn wants_resume(&mut self, connected: bool) -> bool {
        if !connected {
            self.went_down();
            return false;
        }
        match self.phase {
            Phase::Down => true,
            Phase::Resuming { .. } => false,
            Phase::Live if self.pending.is_empty() => {
                self.stalled = 0;
                false
            }
            Phase::Live => {
                self.stalled += 1;
                self.stalled >= STALL_TICKS
            }
        }
    }

    /// Starts a resume: answers its number and the resume request (run, first kept frame).
    pub fn begin_resume(&mut self) -> (u64, Resume) {
        self.resumes += 1;
        self.phase = Phase::Resuming { id: self.resumes };
        self.stalled = 0;
        let from = self.pending.front().map_or(self.next_seq, |(seq, _)| *seq);
        let request = Resume {
            epoch: self.epoch,
            from,
        };
        (self.resumes, request)
    }

    /// Resume `id` got the peer's answer: it delivered up to `delivered`. Answers the frames to
    /// send again, in order; the stream is live after them. An outdated answer changes nothing.
    pub fn resumed(&mut self, id: u64, delivered: u64) -> Vec<Vec<u8>> {
        if self.phase != (Phase::Resuming { id }) {
            return Vec::new();
        }
        self.acked(self.epoch, delivered);
        self.phase = Phase::Live;
        self.pending
            .iter()
            .map(|(_, frame)| frame.clone())
            .collect()
    }

    /// Resume `id` got no answer: down again, the next tick tries again.
    pub fn resume_failed(&mut self, id: u64) {
        if self.phase == (Phase::Resuming { id }) {
            self.went_down();
        }
    }

    /// Whether frames go out as they come.
    pub fn is_live(&self) -> bool {
        self.phase == Phase::Live
    }

    /// Frames kept, and their bytes.
    pub fn kept(&self) -> (usize, usize) {
        (self.pending.len(), self.bytes)
    }
}

/// A resume request: the sender's run, and the number of the first frame it still keeps (every
/// frame before it was acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resume {
    /// The sender's run.
    pub epoch: u64,
    /// The first frame it keeps.
    pub from: u64,
}

/// What the receiver does with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// The next in sequence: deliver it; `ack` says whether to acknowledge now.
    Deliver {
        /// Acknowledge without waiting for the tick.
        ack: bool,
    },
    /// Delivered already (sent again by a resume): skip it.
    Duplicate,
    /// Out of sequence (frames were lost in a dropped connection, or the sender's run is
    /// unknown): skip it and ask the sender to resume.
    Resync,
    /// Out of sequence again: skip it, the sender was asked to resume already.
    Skip,
}

/// The receiver's side of one peer's stream.
#[derive(Debug, Default)]
pub struct Inbox {
    /// The sender's run, once a resume or an in-sequence frame told it.
    epoch: Option<u64>,
    /// The number of the last frame delivered.
    delivered: u64,
    /// The number last acknowledged.
    acked: u64,
    /// A resume was asked for and has not come.
    asked: bool,
}

impl Inbox {
    /// Frame `seq` of run `epoch` came.
    pub fn take(&mut self, epoch: u64, seq: u64) -> Take {
        let in_run = self.epoch == Some(epoch);
        if in_run && seq <= self.delivered {
            return Take::Duplicate;
        }
        if !in_run || Some(seq) != self.delivered.checked_add(1) {
            let first = !self.asked;
            self.asked = true;
            return if first { Take::Resync } else { Take::Skip };
        }
        self.delivered = seq;
        Take::Deliver {
            ack: self.delivered - self.acked >= ACK_EVERY,
        }
    }

    /// The sender resumes: frames before `request.from` need not come again. Answers the number
    /// of the last frame delivered, from which the sender goes on.
    pub fn resume(&mut self, request: Resume) -> u64 {
        let before = request.from.saturating_sub(1);
        if self.epoch == Some(request.epoch) {
            self.delivered = self.delivered.max(before);
        } else {
            self.epoch = Some(request.epoch);
            self.delivered = before;
        }
        self.acked = self.delivered;
        self.asked = false;
        self.delivered
    }

    /// The acknowledgement to send now, if anything was delivered since the last one.
    pub fn ack(&mut self) -> Option<Ack> {
        let epoch = self.epoch?;
        if self.delivered == self.acked {
            return None;
        }
        self.acked = self.delivered;
        Some(Ack {
            epoch,
            seq: self.delivered,
        })
    }
}

/// An acknowledgement: every frame of run `epoch` up to `seq` was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ack {
    /// The sender's run.
    pub epoch: u64,
    /// The last frame delivered.
    pub seq: u64,
}

/// A frame on the wire: the run and number (8 bytes each, little-endian), then the body.
pub fn sequenced(epoch: u64, seq: u64, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(16 + body.len());
    frame.extend_from_slice(&epoch.to_le_bytes());
    frame.extend_from_slice(&seq.to_le_bytes());
    frame.extend_from_slice(body);
    frame
}

/// Splits a frame into run, number and body; `None` if it is too short.
pub fn unsequenced(frame: &[u8]) -> Option<(u64, u64, &[u8])> {
    let epoch = u64::from_le_bytes(frame.get(..8)?.try_into().ok()?);
    let seq = u64::from_le_bytes(frame.get(8..16)?.try_into().ok()?);
    Some((epoch, seq, &frame[16..]))
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
