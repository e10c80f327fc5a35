//! One connected session: attaches to its (possibly resumed) session, then runs packets from the
//! client and messages from its queue until the connection ends, and detaches with its will.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use rmqtt_codec::{v5, MqttPacket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{oneshot, watch};

use super::connect::{keep_alive_timeout, Accepted};
use super::connection::{stopped, ConnectionSettings, Transport};
use super::message::{now_ms, SessionKey};
use super::queue::{Phase, SessionQueue};
use super::registry::{AttachRequest, Kick, SessionId, Will};
use super::snapshot::OnlineInfo;
use super::state::{publish_packet, Grants, Permissions, SessionState};
use super::SessionsHandle;
use crate::metrics::{Counter, Metrics, Versioned};
use crate::plugins::AuthRules;
use deadlines::{sleep_until_some, Deadlines};

mod deadlines;
mod effects;

/// Messages taken from the queue per write batch.
const BATCH: usize = 64;

/// Why a connected session ended.
pub(in crate::sessions) enum End {
    /// DISCONNECT from the client (MQTT 5 may still ask for the will).
    Normal {
        with_will: bool,
        expiry: Option<u32>,
    },
    /// Socket closed, malformed packet, keep-alive expired.
    Closed,
    /// A protocol violation (MQTT 5: told why).
    Violation(Option<v5::DisconnectReasonCode>),
    Kicked(Kick),
    Stopping,
    /// The registry actor died, taking this session's routes with it: the connection is closed
    /// and the client reconnects to the restarted registry.
    RegistryLost,
}

/// One client's view of the authorization plugins; refusals are counted.
struct ClientPermissions<'a> {
    rules: &'a AuthRules,
    client_id: &'a str,
    user: Option<&'a str>,
    metrics: &'a Metrics,
    v5: bool,
}

impl ClientPermissions<'_> {
    fn counted(&self, allowed: bool, refusal: Versioned) -> bool {
        if !allowed {
            self.metrics.count_versioned(refusal, self.v5);
        }
        allowed
    }
}

impl Permissions for ClientPermissions<'_> {
    fn may_publish(&self, topic: &str) -> bool {
        let allowed = self.rules.may_publish(self.client_id, self.user, topic);
        self.counted(allowed, Versioned::PublishAuthError)
    }
    fn may_subscribe(&self, filter: &str) -> bool {
        let allowed = self.rules.may_subscribe(self.client_id, self.user, filter);
        self.counted(allowed, Versioned::SubscribeAuthError)
    }
}

pub(in crate::sessions) struct Session<'a> {
    sessions: &'a SessionsHandle,
    settings: &'a ConnectionSettings,
    key: SessionKey,
    id: SessionId,
    queue: Arc<SessionQueue>,
    state: SessionState,
    idle: Option<Duration>,
    window: usize,
    /// MQTT 5: the largest packet the client accepts (bigger messages are dropped for it).
    max_packet_size: Option<usize>,
    user: Option<String>,
}

impl<'a> Session<'a> {
    /// Attaches to the session (new or resumed) and answers CONNACK; `None` if the connection
    /// ended meanwhile. Answers the session, its kick channel and the will.
    pub(in crate::sessions) async fn start<S>(
        sessions: &'a SessionsHandle,
        framed: &mut Transport<S>,
        peer: SocketAddr,
        settings: &'a ConnectionSettings,
        accepted: Accepted,
    ) -> Option<(Session<'a>, oneshot::Receiver<Kick>, Option<Box<Will>>)>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let key = SessionKey::new(&settings.mountpoint, &accepted.client_id);
        framed.codec_mut().trace.identify(&key.client_id);
        let (kick, kicked) = oneshot::channel();
        let inherited = sessions
            .take_over_elsewhere(&key, accepted.clean_start)
            .await;
        let request = AttachRequest {
            key: key.clone(),
            clean_start: accepted.clean_start,
            expiry: accepted
                .expiry
                .unwrap_or(settings.session.persistent_expiry),
            info: OnlineInfo {
                peer,
                protocol: accepted.protocol,
                user: accepted.user.clone(),
                connected_at_ms: now_ms(),
                connection: 0,
            },
            kick,
            limits: settings.session.limits,
            inherited,
        };
        let attached = sessions.attach(request).await.ok()?;
        let grants = Grants {
            receive_max: settings.session.receive_max_broker,
            topic_alias_max: settings.session.topic_alias_max_client,
        };
        let session = Session {
            sessions,
            settings,
            key,
            id: attached.id,
            queue: attached.queue,
            state: SessionState::new(&accepted, grants),
            idle: keep_alive_timeout(accepted.keep_alive),
            window: window(&accepted, settings),
            max_packet_size: accepted
                .max_packet_size
                .map(|n| usize::try_from(n.get()).unwrap_or(usize::MAX)),
            user: accepted.user,
        };
        let connack = session.state.connack(attached.session_present);
        if framed.send(connack).await.is_err() {
            // Detach at once: the client is gone before it heard of its session.
            session
                .sessions
                .detach(&session.key, session.id, accepted.will, None);
            return None;
        }
        release_buffers(framed);
        // Boxed: most clients have no will, and the rest keep it for the whole connection.
        let will = accepted.will.map(|mut will| {
            if let Some(cap) = settings.session.max_will_delay {
                will.delay = will.delay.min(cap);
            }
            Box::new(will)
        });
        Some((session, kicked, will))
    }

    pub(in crate::sessions) async fn serve<S>(
        &mut self,
        framed: &mut Transport<S>,
        mut kicked: oneshot::Receiver<Kick>,
        mut stop: watch::Receiver<bool>,
    ) -> End
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        // A resumed session first resends what was in flight (MQTT 4.4), then its queue.
        if Box::pin(self.resend(framed, None)).await.is_err() {
            return End::Closed;
        }
        let mut deliver_now = true;
        let mut clock = Deadlines::new(self.idle, self.retry_every());
        loop {
            if deliver_now {
                match Box::pin(self.deliver(framed)).await {
                    Ok(more) => deliver_now = more,
                    Err(()) => return End::Closed,
                }
                clock.arm_retry(&self.queue);
                continue;
            }
            let wake = clock.next();
            tokio::select! {
                read = framed.next() => match read {
                    Some(Ok((packet, _))) => {
                        clock.read();
                        // Boxed: handling a packet needs far more state than waiting for one,
                        // and an idle session should only pay for the waiting.
                        if let Some(end) = Box::pin(self.on_packet(framed, packet)).await {
                            return end;
                        }
                    }
                    Some(Err(error)) => {
                        // Malformed or oversized packet, or an I/O error.
                        let counter = match error {
                            rmqtt_codec::error::DecodeError::Io(_) => Counter::SocketError,
                            _ => Counter::ProtocolError,
                        };
                        self.sessions.metrics().count_one(counter);
                        return End::Closed;
                    }
                    None => return End::Closed,
                },
                () = self.queue.notified() => deliver_now = true,
                kick = &mut kicked => return match kick {
                    Ok(kick) => End::Kicked(kick),
                    Err(_) => End::RegistryLost,
                },
                () = stopped(&mut stop) => return End::Stopping,
                () = sleep_until_some(wake), if wake.is_some() => {
                    if clock.idle_expired() {
                        self.sessions.metrics().count_one(Counter::ClientKeepaliveExpired);
                        return End::Closed;
                    }
                    if let Some(due) = clock.retry_due(&self.queue) {
                        if Box::pin(self.resend(framed, Some(&due))).await.is_err() {
                            return End::Closed;
                        }
                    }
                }
            }
        }
    }

    /// MQTT 3 clients get unacknowledged messages again after `retry_interval` (MQTT 5
    /// forbids resending on a live connection).
    fn retry_every(&self) -> Option<Duration> {
        (!self.state.is_v5()).then_some(self.settings.session.retry_interval)
    }

    /// Sends the next batch from the queue; answers whether more may be waiting.
    async fn deliver<S>(&mut self, framed: &mut Transport<S>) -> Result<bool, ()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let now = now_ms();
        let taken = self.queue.take(self.id.get(), self.window, now, BATCH);
        let metrics = self.sessions.metrics();
        metrics.add(Counter::QueueMessageExpired, taken.expired);
        let batch = taken.messages;
        let v5 = self.state.is_v5();
        for outgoing in &batch {
            let packet = publish_packet(v5, outgoing, false, now);
            match self.max_packet_size {
                None => framed.feed(packet).await.map_err(drop)?,
                Some(max) => {
                    if !encode_within(framed, packet, max)? {
                        // MQTT 5 §3.1.2.11.4: too big for this client; dropped as if delivered.
                        if let Some(packet_id) = outgoing.packet_id {
                            self.queue.acknowledge(packet_id);
                        }
                        metrics.count_one(Counter::QueueMessageDrop);
                    }
                }
            }
        }
        if !batch.is_empty() {
            framed.flush().await.map_err(drop)?;
            metrics.add(Counter::QueueMessageOut, batch.len());
        }
        Ok(batch.len() == BATCH)
    }

    /// Resends what is in flight (`only` these ids, if given): after a reconnect everything, on
    /// a retry the messages unacknowledged for a whole `retry_interval`.
    async fn resend<S>(
        &mut self,
        framed: &mut Transport<S>,
        only: Option<&HashSet<NonZeroU16>>,
    ) -> Result<(), ()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let inflight = self.queue.inflight();
        let due = |id: &NonZeroU16| only.is_none_or(|ids| ids.contains(id));
        let now = now_ms();
        let mut resent = false;
        for message in inflight.iter().filter(|m| due(&m.packet_id)) {
            let packet = match message.phase {
                Phase::Sent => publish_packet(
                    self.state.is_v5(),
                    &super::queue::Outgoing {
                        packet_id: Some(message.packet_id),
                        message: message.message.clone(),
                    },
                    true,
                    now,
                ),
                Phase::Released => self.state.pubrel(message.packet_id, true),
            };
            framed.feed(packet).await.map_err(drop)?;
            resent = true;
        }
        if resent {
            framed.flush().await.map_err(drop)?;
        }
        Ok(())
    }
}

/// Gives back the codec's 8 KiB read and write buffers once the handshake is done: most
/// sessions then sit idle, and the buffers grow again only when traffic needs them.
fn release_buffers<S>(framed: &mut Transport<S>) {
    if framed.read_buffer().is_empty() {
        *framed.read_buffer_mut() = BytesMut::new();
    }
    if framed.write_buffer().is_empty() {
        *framed.write_buffer_mut() = BytesMut::new();
    }
}

/// Encodes `packet` into the write buffer unless it comes out larger than `max` bytes; answers
/// whether it was kept (the next flush sends it).
fn encode_within<S>(framed: &mut Transport<S>, packet: MqttPacket, max: usize) -> Result<bool, ()> {
    let mut buffer = std::mem::take(framed.write_buffer_mut());
    let kept = framed.codec_mut().encode_within(packet, &mut buffer, max);
    *framed.write_buffer_mut() = buffer;
    kept.map_err(drop)
}

/// How many QoS 1/2 messages may be in flight to this client.
fn window(accepted: &Accepted, settings: &ConnectionSettings) -> usize {
    let configured = match settings.session.max_inflight {
        0 => usize::from(u16::MAX),
        n => usize::from(n),
    };
    let client = accepted
        .receive_max
        .map_or(usize::from(u16::MAX), |n| usize::from(n.get()));
    configured.min(client)
}
