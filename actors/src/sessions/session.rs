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
use tokio::time::Instant;

use super::connect::{keep_alive_timeout, Accepted};
use super::connection::{stopped, ConnectionSettings, Transport};
use super::message::{now_ms, Message, RetainHandling, SessionKey, SubOptions};
use super::queue::{Phase, SessionQueue};
use super::registry::{AttachRequest, Kick, SessionExpiry, SessionId, Will};
use super::snapshot::OnlineInfo;
use super::state::{publish_packet, Effect, Grants, Permissions, SessionState};
use super::SessionsHandle;
use crate::plugins::AuthRules;
use crate::router::shared_filter;

/// Messages taken from the queue per write batch.
const BATCH: usize = 64;

/// Why a connected session ended.
pub(super) enum End {
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

/// One client's view of the authorization plugins.
struct ClientPermissions<'a> {
    rules: &'a AuthRules,
    client_id: &'a str,
    user: Option<&'a str>,
}

impl Permissions for ClientPermissions<'_> {
    fn may_publish(&self, topic: &str) -> bool {
        self.rules.may_publish(self.client_id, self.user, topic)
    }
    fn may_subscribe(&self, filter: &str) -> bool {
        self.rules.may_subscribe(self.client_id, self.user, filter)
    }
}

pub(super) struct Session<'a> {
    sessions: &'a SessionsHandle,
    settings: &'a ConnectionSettings,
    key: SessionKey,
    id: SessionId,
    queue: Arc<SessionQueue>,
    state: SessionState,
    idle: Option<Duration>,
    window: usize,
    user: Option<String>,
}

impl<'a> Session<'a> {
    /// Attaches to the session (new or resumed) and answers CONNACK; `None` if the connection
    /// ended meanwhile. Answers the session, its kick channel and the will.
    pub(super) async fn start<S>(
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
        let (kick, kicked) = oneshot::channel();
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
        Some((session, kicked, accepted.will.map(Box::new)))
    }

    pub(super) async fn serve<S>(
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
                    // Malformed packet, oversized packet, I/O error or EOF.
                    _ => return End::Closed,
                },
                () = self.queue.notified() => deliver_now = true,
                kick = &mut kicked => return match kick {
                    Ok(kick) => End::Kicked(kick),
                    Err(_) => End::RegistryLost,
                },
                () = stopped(&mut stop) => return End::Stopping,
                () = sleep_until_some(wake), if wake.is_some() => {
                    if clock.idle_expired() {
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
        let batch = self.queue.take(self.id.get(), self.window, now, BATCH);
        let v5 = self.state.is_v5();
        for outgoing in &batch {
            let packet = publish_packet(v5, outgoing, false, now);
            framed.feed(packet).await.map_err(drop)?;
        }
        if !batch.is_empty() {
            framed.flush().await.map_err(drop)?;
            self.sessions.counters().sent(batch.len(), batch.len());
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
        let mut resent = 0;
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
            resent += 1;
        }
        if resent > 0 {
            framed.flush().await.map_err(drop)?;
            self.sessions.counters().sent(resent, 0);
        }
        Ok(())
    }

    /// Runs the effects of one packet; answers why the connection ends, if it does.
    async fn on_packet<S>(&mut self, framed: &mut Transport<S>, packet: MqttPacket) -> Option<End>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let permissions = ClientPermissions {
            rules: &self.settings.auth,
            client_id: &self.key.client_id,
            user: self.user.as_deref(),
        };
        for effect in self.state.on_packet(packet, &permissions) {
            let sent = match effect {
                Effect::Subscribe { filters, ack } => self.subscribe(framed, filters, ack).await,
                Effect::Unsubscribe { packet_id, filters } => {
                    let existed = self.sessions.unsubscribe(&self.key, self.id, filters).await;
                    let Some(existed) = existed else {
                        return Some(End::RegistryLost);
                    };
                    framed
                        .send(self.state.unsuback(packet_id, &existed))
                        .await
                        .map_err(drop)
                }
                Effect::Publish { message, ack } => match self.publish(message, ack) {
                    Ok(Some(packet)) => framed.send(packet).await.map_err(drop),
                    Ok(None) => Ok(()),
                    Err(reason) => return Some(End::Violation(Some(reason))),
                },
                Effect::Acknowledged(packet_id) => {
                    self.queue.acknowledge(packet_id);
                    Ok(())
                }
                Effect::Received(packet_id) => {
                    let known = self.queue.received(packet_id);
                    framed
                        .send(self.state.pubrel(packet_id, known))
                        .await
                        .map_err(drop)
                }
                Effect::Released(packet_id) => {
                    let known = self.queue.release(packet_id);
                    framed
                        .send(self.state.pubcomp(packet_id, known))
                        .await
                        .map_err(drop)
                }
                Effect::Send(packet) => framed.send(packet).await.map_err(drop),
                Effect::Disconnect {
                    with_will,
                    session_expiry,
                } => {
                    return Some(End::Normal {
                        with_will,
                        expiry: session_expiry,
                    })
                }
                Effect::Close(reason) => return Some(End::Violation(reason)),
            };
            if sent.is_err() {
                return Some(End::Closed);
            }
        }
        None
    }
}

/// A session's deadlines: keep-alive (1.5 × the client's) and the retry of unacknowledged
/// messages, served by one timer so that an idle session waits on a single sleep.
struct Deadlines {
    idle: Option<Duration>,
    last_read: Instant,
    retry_every: Option<Duration>,
    /// When the messages in `unacked` are sent again.
    retry_at: Option<Instant>,
    unacked: HashSet<NonZeroU16>,
}

impl Deadlines {
    fn new(idle: Option<Duration>, retry_every: Option<Duration>) -> Self {
        Self {
            idle,
            last_read: Instant::now(),
            retry_every,
            retry_at: None,
            unacked: HashSet::new(),
        }
    }

    /// The client sent something.
    fn read(&mut self) {
        self.last_read = Instant::now();
    }

    /// Starts the retry clock for what is in flight now, unless it runs already.
    fn arm_retry(&mut self, queue: &SessionQueue) {
        if let (None, Some(every)) = (self.retry_at, self.retry_every) {
            self.unacked = queue.inflight_ids().into_iter().collect();
            self.retry_at = (!self.unacked.is_empty()).then(|| Instant::now() + every);
        }
    }

    /// The earliest deadline.
    fn next(&self) -> Option<Instant> {
        let idle_at = self.idle.map(|idle| self.last_read + idle);
        match (idle_at, self.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn idle_expired(&self) -> bool {
        self.idle
            .is_some_and(|idle| Instant::now() >= self.last_read + idle)
    }

    /// When the retry deadline passed: the ids to resend (those unacknowledged since the clock
    /// started), and the clock restarts for what is in flight now.
    fn retry_due(&mut self, queue: &SessionQueue) -> Option<HashSet<NonZeroU16>> {
        if self.retry_at.is_none_or(|at| Instant::now() < at) {
            return None;
        }
        self.retry_at = None;
        let due = std::mem::take(&mut self.unacked);
        self.arm_retry(queue);
        Some(due)
    }
}

/// Sleeps until `at`; never resolves for `None`.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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

impl Session<'_> {
    /// Subscribes, answers SUBACK, then queues the retained messages the new filters match.
    async fn subscribe<S>(
        &mut self,
        framed: &mut Transport<S>,
        filters: Vec<(String, SubOptions)>,
        ack: MqttPacket,
    ) -> Result<(), ()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let fresh = match filters.is_empty() {
            true => Some(Vec::new()),
            false => {
                self.sessions
                    .subscribe(&self.key, self.id, filters.clone())
                    .await
            }
        };
        framed.send(ack).await.map_err(drop)?;
        let Some(fresh) = fresh else {
            return Ok(());
        };
        let now = now_ms();
        for ((filter, options), fresh) in filters.iter().zip(fresh) {
            let wanted = match options.retain_handling {
                RetainHandling::AtSubscribe => true,
                RetainHandling::AtNewSubscription => fresh,
                RetainHandling::Never => false,
            };
            // Shared subscriptions get no retained messages (MQTT 5 §4.8.2).
            if !wanted || shared_filter(filter).is_some() {
                continue;
            }
            let retained = self
                .sessions
                .retained()
                .matching(&self.key.mountpoint, filter, now);
            for message in retained {
                self.queue.push(message.for_subscriber(options, true));
            }
        }
        Ok(())
    }

    /// Routes (and retains) a publish; answers the ack to send, or why to close.
    fn publish(
        &mut self,
        mut message: Message,
        ack: Option<(NonZeroU16, rmqtt_codec::types::QoS)>,
    ) -> Result<Option<MqttPacket>, v5::DisconnectReasonCode> {
        if let Some((packet_id, rmqtt_codec::types::QoS::ExactlyOnce)) = ack {
            if !self.queue.receive_exactly_once(packet_id) {
                // A resend before PUBREL: acknowledged again, routed once.
                return Ok(Some(self.state.publish_ack(
                    packet_id,
                    rmqtt_codec::types::QoS::ExactlyOnce,
                    true,
                )));
            }
            if self.queue.incoming_unreleased()
                > usize::from(self.settings.session.receive_max_broker)
            {
                return Err(v5::DisconnectReasonCode::ReceiveMaximumExceeded);
            }
        }
        message.stamp_expiry(now_ms());
        let mountpoint = &self.key.mountpoint;
        if message.retain {
            self.sessions.retained().set(mountpoint, &message);
        }
        let routed = self.sessions.routes().route(mountpoint, &message);
        let counters = self.sessions.counters();
        counters.received();
        counters.routed(routed.matched, routed.dropped);
        let matched = routed.matched > 0;
        Ok(ack.map(|(packet_id, qos)| self.state.publish_ack(packet_id, qos, matched)))
    }

    /// Tells an MQTT 5 client why the node closes, then detaches with the will if it is due.
    pub(super) async fn finish<S>(
        &mut self,
        framed: &mut Transport<S>,
        end: End,
        will: Option<Box<Will>>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let reason = match &end {
            End::Kicked(Kick::TakenOver) => Some(v5::DisconnectReasonCode::SessionTakenOver),
            End::Kicked(Kick::Administrative) => {
                Some(v5::DisconnectReasonCode::AdministrativeAction)
            }
            End::Stopping => Some(v5::DisconnectReasonCode::ServerShuttingDown),
            End::RegistryLost => Some(v5::DisconnectReasonCode::UnspecifiedError),
            End::Violation(reason) => *reason,
            End::Normal { .. } | End::Closed => None,
        };
        if let Some(packet) = reason.and_then(|r| self.state.disconnect(r)) {
            let _ = framed.send(packet).await;
        }
        let will = match end {
            End::Normal { with_will, .. } => will.filter(|_| with_will),
            End::Kicked(Kick::TakenOver) if self.settings.session.suppress_lwt_on_takeover => None,
            End::RegistryLost => return,
            _ => will,
        };
        let expiry = match end {
            End::Normal {
                expiry: Some(secs), ..
            } if self.state.is_v5() => Some(match secs {
                u32::MAX => SessionExpiry::Never,
                secs => SessionExpiry::After(Duration::from_secs(u64::from(secs))),
            }),
            _ => None,
        };
        self.sessions
            .detach(&self.key, self.id, will.map(|w| *w), expiry);
    }
}
