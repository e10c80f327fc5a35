//! One MQTT connection: version detection, CONNECT with a deadline, then packets ↔ the state machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rmqtt_codec::version::{ProtocolVersion, VersionCodec};
use rmqtt_codec::{v3, v5, MqttCodec, MqttPacket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::registry::{Mailbox, SessionId, SessionInfo};
use super::state::{self, ConnectPolicy, Effect, SessionState};
use super::SessionsHandle;

/// How many routed messages wait for a slow client before QoS 0 messages are dropped.
const MAILBOX_SIZE: usize = 1000;

/// What the node's configuration and the accepting listener say about a new connection, read
/// when it is accepted (so `set` and `plugin enable|disable` apply to the next connection).
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Who may connect (`allow_anonymous` after the listener's `allow_anonymous_override`, and
    /// the listener's `allowed_protocol_versions`).
    pub policy: ConnectPolicy,
    /// Largest packet accepted (remaining length, bytes); 0 = the protocol maximum.
    pub max_packet_size: u32,
    /// How long a client has to send CONNECT (`mqtt_connect_timeout`).
    pub connect_timeout: Duration,
    /// The listener's mountpoint: a prefix that isolates its clients' topics and client ids.
    pub mountpoint: Arc<str>,
}

type Transport<S> = Framed<S, MqttCodec>;

pub(super) async fn run<S>(
    sessions: &SessionsHandle,
    stream: S,
    peer: SocketAddr,
    settings: ConnectionSettings,
    stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut framed = Framed::new(stream, MqttCodec::Version(VersionCodec));
    let deadline = Instant::now() + settings.connect_timeout;
    let connect = match read_connect(&mut framed, deadline, settings.max_packet_size).await {
        Ok(connect) => connect,
        Err(refusal) => {
            if let Some(return_code) = refusal {
                // The version codec cannot encode: answer as 3.1.1.
                *framed.codec_mut() = MqttCodec::V3(v3::Codec::new(settings.max_packet_size));
                let _ = framed.send(refused_v3(return_code)).await;
            }
            return;
        }
    };
    let accepted = match state::connect(connect, settings.policy, fresh_client_id) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            if let Some(connack) = refusal {
                let _ = framed.send(*connack).await;
            }
            return;
        }
    };
    let (deliveries, inbox) = mpsc::channel(MAILBOX_SIZE);
    let (kick, kicked) = oneshot::channel();
    let info = SessionInfo {
        client_id: accepted.client_id.clone(),
        mountpoint: String::new(),
        peer,
        protocol: accepted.protocol,
        user: accepted.user.clone(),
        connected_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    let Ok(id) = sessions.register(info, Mailbox { deliveries, kick }).await else {
        return;
    };
    let mut session = Session {
        sessions,
        id,
        state: SessionState::new(&accepted),
        idle: state::keep_alive_timeout(accepted.keep_alive),
    };
    if framed.send(session.state.connack()).await.is_ok() {
        session.serve(&mut framed, inbox, kicked, stop).await;
    }
    sessions.unregister(id);
}

/// Detects the protocol version, switches to its codec and reads the CONNECT before `deadline`.
/// A CONNECT the codec rejects is refused with a 3.1.1 CONNACK where the spec asks for one
/// (`Err(Some(reason))`: unsupported protocol level, empty client id without clean session) and
/// otherwise just closed (`Err(None)`).
async fn read_connect<S>(
    framed: &mut Transport<S>,
    deadline: Instant,
    max_packet_size: u32,
) -> Result<MqttPacket, Option<v3::ConnectAckReason>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let version = match tokio::time::timeout_at(deadline, framed.next()).await {
        Ok(Some(Ok((MqttPacket::Version(version), _)))) => version,
        Ok(Some(Err(_))) if is_unsupported_level(framed.read_buffer()) => {
            return Err(Some(v3::ConnectAckReason::UnacceptableProtocolVersion));
        }
        _ => return Err(None),
    };
    *framed.codec_mut() = match version {
        ProtocolVersion::MQTT3 => MqttCodec::V3(v3::Codec::new(max_packet_size)),
        ProtocolVersion::MQTT5 => MqttCodec::V5(v5::Codec::new(max_packet_size, 0)),
    };
    match tokio::time::timeout_at(deadline, framed.next()).await {
        Ok(Some(Ok((packet, _)))) => Ok(packet),
        Ok(Some(Err(rmqtt_codec::error::DecodeError::InvalidClientId)))
            if version == ProtocolVersion::MQTT3 =>
        {
            Err(Some(v3::ConnectAckReason::IdentifierRejected))
        }
        _ => Err(None),
    }
}

/// A refusing 3.x CONNACK, encodable whatever codec the connection had reached.
fn refused_v3(return_code: v3::ConnectAckReason) -> MqttPacket {
    MqttPacket::V3(v3::Packet::ConnectAck(v3::ConnectAck {
        return_code,
        session_present: false,
    }))
}

/// Whether `buf` starts with a CONNECT whose protocol name is valid ("MQTT" or "MQIsdp") but whose
/// level the version codec refused: MQTT 3.1.1 §3.1.2.2 wants CONNACK 0x01 for that, not a close.
fn is_unsupported_level(buf: &[u8]) -> bool {
    if buf.first() != Some(&0x10) {
        return false;
    }
    // Skip the remaining length (1 to 4 bytes, high bit = more).
    let Some(len_bytes) = buf.iter().skip(1).take(4).position(|b| b & 0x80 == 0) else {
        return false;
    };
    let header = &buf[(2 + len_bytes).min(buf.len())..];
    [&b"\x00\x04MQTT"[..], &b"\x00\x06MQIsdp"[..]]
        .iter()
        .any(|name| header.starts_with(name) && header.len() > name.len())
}

/// Resolves once the node stops (or has gone); the watch guard never lives across an await.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

fn fresh_client_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness, not secrecy, matters here: fall back to the clock.
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        bytes = nanos.to_be_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("vmq-{hex}")
}

/// Why a connected session ended.
enum End {
    Closed,
    TakenOver,
    Stopping,
    /// The registry actor died, taking this session's mailbox with it: without routes the
    /// connection would silently receive nothing, so it is closed and the client reconnects
    /// to the restarted registry.
    RegistryLost,
}

struct Session<'a> {
    sessions: &'a SessionsHandle,
    id: SessionId,
    state: SessionState,
    idle: Option<Duration>,
}

impl Session<'_> {
    async fn serve<S>(
        &mut self,
        framed: &mut Transport<S>,
        mut inbox: mpsc::Receiver<super::Delivery>,
        mut kicked: oneshot::Receiver<()>,
        mut stop: watch::Receiver<bool>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut last_read = Instant::now();
        let end = loop {
            let idle = tokio::time::sleep_until(last_read + self.idle.unwrap_or_default());
            tokio::select! {
                read = framed.next() => match read {
                    Some(Ok((packet, _))) => {
                        last_read = Instant::now();
                        if !self.on_packet(framed, packet).await {
                            break End::Closed;
                        }
                    }
                    // Malformed packet, oversized packet, I/O error or EOF.
                    _ => break End::Closed,
                },
                Some(delivery) = inbox.recv() => {
                    let packet = self.state.deliver(&delivery.topic, delivery.payload);
                    if framed.send(packet).await.is_err() {
                        break End::Closed;
                    }
                }
                kick = &mut kicked => break match kick {
                    Ok(()) => End::TakenOver,
                    Err(_) => End::RegistryLost,
                },
                () = stopped(&mut stop) => break End::Stopping,
                () = idle, if self.idle.is_some() => break End::Closed,
            }
        };
        if let Some(disconnect) = self.disconnect(end) {
            let _ = framed.send(disconnect).await;
        }
    }

    /// Runs the effects of one packet; answers whether the connection stays open.
    async fn on_packet<S>(&mut self, framed: &mut Transport<S>, packet: MqttPacket) -> bool
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        for effect in self.state.on_packet(packet) {
            let ok = match effect {
                Effect::Subscribe(filters) => {
                    self.sessions.subscribe(self.id, filters).await.is_ok()
                }
                Effect::Unsubscribe(filters) => {
                    self.sessions.unsubscribe(self.id, filters).await.is_ok()
                }
                Effect::Publish { topic, payload } => self.sessions.publish(topic, payload).is_ok(),
                Effect::Send(packet) => framed.send(packet).await.is_ok(),
                Effect::Close => false,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// MQTT 5 clients are told why the server closes; 3.x clients just see the socket close.
    fn disconnect(&self, end: End) -> Option<MqttPacket> {
        let reason_code = match end {
            End::Closed => return None,
            End::TakenOver => v5::DisconnectReasonCode::SessionTakenOver,
            End::Stopping => v5::DisconnectReasonCode::ServerShuttingDown,
            End::RegistryLost => v5::DisconnectReasonCode::UnspecifiedError,
        };
        self.state.is_v5().then(|| {
            MqttPacket::V5(v5::Packet::Disconnect(v5::Disconnect {
                reason_code,
                ..v5::Disconnect::default()
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_unsupported_level;

    #[test]
    fn an_unsupported_level_is_told_apart_from_a_bad_protocol_name() {
        assert!(is_unsupported_level(b"\x10\x0d\x00\x04MQTT\x09\x02"));
        assert!(is_unsupported_level(b"\x10\x80\x01\x00\x06MQIsdp\x07"));
        assert!(!is_unsupported_level(b"\x10\x0d\x00\x04XXXX\x04\x02"));
        assert!(!is_unsupported_level(b"\x10\x0d\x00\x04MQTT"));
        assert!(!is_unsupported_level(b"\x10\xff\xff\xff\xff\x7f"));
        assert!(!is_unsupported_level(b"GET / HTTP/1.1"));
    }
}
