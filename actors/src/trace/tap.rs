//! `TraceTap`: what a connection's codec holds to show its packets in a running trace of its
//! client. Without a trace change, a packet costs one relaxed load of the hub's generation.

use std::sync::Arc;

use rmqtt_codec::{v3, v5, MqttPacket};

use super::{Direction, Trace, TraceHub};

/// One connection's view of the node's traces.
#[derive(Debug)]
pub struct TraceTap {
    hub: Arc<TraceHub>,
    /// The hub's generation when this tap last looked for its trace.
    seen: u64,
    mountpoint: Arc<str>,
    /// Known from the CONNECT (or the session, when the node assigned it).
    client_id: Option<Box<str>>,
    pub(super) trace: Option<Arc<Trace>>,
}

impl TraceTap {
    pub(super) fn new(hub: Arc<TraceHub>, mountpoint: Arc<str>) -> Self {
        Self {
            seen: hub.generation(),
            hub,
            mountpoint,
            client_id: None,
            trace: None,
        }
    }

    /// A packet decoded from the client.
    #[inline]
    pub fn received(&mut self, packet: &MqttPacket) {
        if self.client_id.is_none() {
            self.learn(packet);
        }
        self.record(Direction::Received, packet);
    }

    /// A packet about to be encoded for the client.
    #[inline]
    pub fn sent(&mut self, packet: &MqttPacket) {
        self.record(Direction::Sent, packet);
    }

    /// The client id the session runs under (differs from the CONNECT's when the node
    /// assigned one).
    pub fn identify(&mut self, client_id: &str) {
        if self.client_id.as_deref() != Some(client_id) {
            self.client_id = Some(client_id.into());
            self.refresh(self.hub.generation());
        }
    }

    #[inline]
    fn record(&mut self, direction: Direction, packet: &MqttPacket) {
        let generation = self.hub.generation();
        if generation != self.seen {
            self.refresh(generation);
        }
        if let Some(trace) = &self.trace {
            trace.record(direction, packet);
        }
    }

    /// Takes the client id from a CONNECT, so that the CONNECT itself is traced.
    #[cold]
    fn learn(&mut self, packet: &MqttPacket) {
        let client_id = match packet {
            MqttPacket::V3(v3::Packet::Connect(connect)) => &connect.client_id,
            MqttPacket::V5(v5::Packet::Connect(connect)) => &connect.client_id,
            _ => return,
        };
        if !client_id.is_empty() {
            self.identify(client_id);
        }
    }

    /// Looks for this connection's trace again (a trace started or ended).
    #[cold]
    fn refresh(&mut self, generation: u64) {
        self.seen = generation;
        let found = match &self.client_id {
            Some(client_id) => self.hub.find(&self.mountpoint, client_id),
            None => None,
        };
        let same = match (&found, &self.trace) {
            (Some(new), Some(old)) => Arc::ptr_eq(new, old),
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        if let Some(new) = &found {
            new.connections
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        if let Some(old) = std::mem::replace(&mut self.trace, found) {
            self.hub.detached(&old);
        }
    }
}

impl Drop for TraceTap {
    fn drop(&mut self) {
        // A connection that closes before its next packet still ends a trace started meanwhile.
        let generation = self.hub.generation();
        if generation != self.seen {
            self.refresh(generation);
        }
        if let Some(trace) = self.trace.take() {
            self.hub.detached(&trace);
        }
    }
}
