//! `trace client`: the node's traces (at most one per client) and the stream of lines each one
//! feeds while its client's packets go by.
//!
//! The data plane pays for this only through [`TraceTap`], which every connection's codec holds:
//! while no trace changes, a packet costs one relaxed load of the hub's generation. A trace's
//! lines are built only for its client, rate-limited, and handed over with `try_send` into a
//! bounded channel: a slow reader loses lines (counted), never slows the session down.
//!
//! A trace ends when its reader goes away (Ctrl-C of the CLI, an HTTP client that hangs up),
//! when `stop_all` ends every trace, or when the last traced connection of its client closes;
//! its stream then ends with `Done.`.

mod format;
mod limit;
mod tap;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use parking_lot::Mutex;
use rmqtt_codec::MqttPacket;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use crate::sessions::SessionKey;
use format::{packet_line, Direction};
use limit::RateLimit;
pub use tap::TraceTap;

/// Lines a reader may fall behind by before new ones are lost.
const LINE_BUFFER: usize = 1024;

/// The last line of every trace.
pub const DONE: &str = "Done.";

/// How a trace shows its client's packets (VerneMQ's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceOptions {
    /// At most this many lines per `rate_interval`; the lines over it are skipped and counted.
    pub rate_max: u32,
    /// The rate window.
    pub rate_interval: Duration,
    /// Payload bytes shown per PUBLISH.
    pub trunc_payload: usize,
}

impl Default for TraceOptions {
    fn default() -> Self {
        Self {
            rate_max: 10,
            rate_interval: Duration::from_millis(100),
            trunc_payload: 200,
        }
    }
}

/// A trace of this client already runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Cannot start trace as another trace is already running.")]
pub struct TraceBusy;

/// One running trace, shared by its reader and the taps of its client's connections.
#[derive(Debug)]
pub(crate) struct Trace {
    key: SessionKey,
    options: TraceOptions,
    lines: mpsc::Sender<String>,
    limit: Mutex<RateLimit>,
    /// Lines dropped because the reader fell behind, not yet reported.
    lost: AtomicU64,
    /// Connections whose taps show their packets here.
    connections: AtomicUsize,
    ended: CancellationToken,
}

impl Trace {
    /// Shows one packet of the client, within the rate limit.
    pub(crate) fn record(&self, direction: Direction, packet: &MqttPacket) {
        if matches!(packet, MqttPacket::Version(_)) || self.lines.is_closed() {
            return;
        }
        if !self.limit.lock().admit(tokio::time::Instant::now()) {
            return;
        }
        let at = chrono::Utc::now();
        let client_id = &self.key.client_id;
        let Some(line) = packet_line(at, direction, client_id, packet, self.options.trunc_payload)
        else {
            return;
        };
        if let Err(TrySendError::Full(_)) = self.lines.try_send(line) {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn is(&self, mountpoint: &str, client_id: &str) -> bool {
        self.key.mountpoint == mountpoint && self.key.client_id == client_id
    }
}

/// The node's traces. Shared by the session registry's handle and every connection's tap.
#[derive(Debug, Default)]
pub struct TraceHub {
    /// Changes whenever a trace starts or ends: taps look for their trace again only then.
    generation: AtomicU64,
    traces: Mutex<Vec<Arc<Trace>>>,
}

impl TraceHub {
    /// Starts tracing `key`'s connections, present and future. At most one trace per client.
    /// Call it inside the Tokio runtime (the stream keeps a timer).
    pub fn start(
        self: &Arc<Self>,
        key: SessionKey,
        options: TraceOptions,
    ) -> Result<TraceStream, TraceBusy> {
        let (sender, receiver) = mpsc::channel(LINE_BUFFER);
        let trace = Arc::new(Trace {
            limit: Mutex::new(RateLimit::new(options.rate_max, options.rate_interval)),
            key,
            options,
            lines: sender,
            lost: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            ended: CancellationToken::new(),
        });
        {
            let mut traces = self.traces.lock();
            if traces
                .iter()
                .any(|t| t.is(&trace.key.mountpoint, &trace.key.client_id))
            {
                return Err(TraceBusy);
            }
            traces.push(Arc::clone(&trace));
            self.generation.fetch_add(1, Ordering::Release);
        }
        let mut tick = tokio::time::interval(options.rate_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(TraceStream {
            hub: Arc::clone(self),
            trace,
            lines: receiver,
            tick,
            pending: VecDeque::new(),
            finished: false,
        })
    }

    /// `trace stop_all`: ends every trace (their streams end with `Done.`). Answers how many ran.
    pub fn stop_all(&self) -> usize {
        let stopped = std::mem::take(&mut *self.traces.lock());
        self.generation.fetch_add(1, Ordering::Release);
        for trace in &stopped {
            trace.ended.cancel();
        }
        stopped.len()
    }

    /// How many traces run.
    pub fn len(&self) -> usize {
        self.traces.lock().len()
    }

    /// Whether no trace runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a trace of `key` runs.
    pub fn is_tracing(&self, key: &SessionKey) -> bool {
        self.find(&key.mountpoint, &key.client_id).is_some()
    }

    /// The tap for a new connection on a listener with `mountpoint`.
    pub fn tap(self: &Arc<Self>, mountpoint: Arc<str>) -> TraceTap {
        TraceTap::new(Arc::clone(self), mountpoint)
    }

    /// The current generation (a relaxed load: a tap sees a change at its next packet).
    #[inline]
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    fn find(&self, mountpoint: &str, client_id: &str) -> Option<Arc<Trace>> {
        self.traces
            .lock()
            .iter()
            .find(|t| t.is(mountpoint, client_id))
            .cloned()
    }

    /// Ends `trace` (idempotent).
    fn end(&self, trace: &Arc<Trace>) {
        let mut traces = self.traces.lock();
        if let Some(at) = traces.iter().position(|t| Arc::ptr_eq(t, trace)) {
            traces.swap_remove(at);
            self.generation.fetch_add(1, Ordering::Release);
        }
        drop(traces);
        trace.ended.cancel();
    }

    /// A tap stopped showing its connection in `trace`; the last one ends it.
    fn detached(&self, trace: &Arc<Trace>) {
        if trace.connections.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.end(trace);
        }
    }
}

/// The lines of one trace, as they happen; dropping it ends the trace.
#[derive(Debug)]
pub struct TraceStream {
    hub: Arc<TraceHub>,
    trace: Arc<Trace>,
    lines: mpsc::Receiver<String>,
    /// Reports skipped and lost lines once per rate window.
    tick: tokio::time::Interval,
    pending: VecDeque<String>,
    finished: bool,
}

impl TraceStream {
    /// The next line; `None` after `Done.`.
    pub async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some(line);
            }
            if self.finished {
                return None;
            }
            tokio::select! {
                biased;
                () = self.trace.ended.cancelled() => self.finish(),
                line = self.lines.recv() => match line {
                    Some(line) => return Some(line),
                    None => self.finish(),
                },
                _ = self.tick.tick() => self.note_gaps(),
            }
        }
    }

    /// The lines as a stream (for HTTP bodies and other pollers).
    pub fn into_stream(self) -> impl Stream<Item = String> + Send + 'static {
        futures_util::stream::unfold(self, |mut stream| async move {
            stream.next().await.map(|line| (line, stream))
        })
    }

    /// What is still buffered, what was skipped or lost, then `Done.`.
    fn finish(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.pending.push_back(line);
        }
        self.note_gaps();
        self.pending.push_back(DONE.to_owned());
        self.finished = true;
    }

    fn note_gaps(&mut self) {
        let skipped = self.trace.limit.lock().take_skipped();
        if skipped > 0 {
            self.pending.push_back(format!(
                "Trace rate limit reached: {skipped} lines skipped."
            ));
        }
        let lost = self.trace.lost.swap(0, Ordering::Relaxed);
        if lost > 0 {
            self.pending
                .push_back(format!("Reader too slow: {lost} lines lost."));
        }
    }
}

impl Drop for TraceStream {
    fn drop(&mut self) {
        self.hub.end(&self.trace);
    }
}

#[cfg(test)]
mod tests;
