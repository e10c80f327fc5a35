//! One MQTT connection: version detection, CONNECT with a deadline, then packets ↔ the state machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rmqtt_codec::version::{ProtocolVersion, VersionCodec};
use rmqtt_codec::{v3, v5, MqttCodec, MqttPacket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::connect::{self, refusal, Accepted, ConnectPolicy, Refusal};
use super::queue::QueueLimits;
use super::registry::SessionExpiry;
use super::session::Session;
use super::wire_checks::{check_connect, CheckedCodec, ConnectProblem};
use super::SessionsHandle;
use crate::metrics::{Counter, Metrics};
use crate::plugins::{AuthRules, AuthVerdict};
use crate::trace::TraceTap;

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
    /// The listener's mountpoint: a namespace that isolates its clients' topics and client ids.
    pub mountpoint: Arc<str>,
    /// Session limits and timers.
    pub session: SessionSettings,
    /// The authentication and authorization plugins in force.
    pub auth: Arc<AuthRules>,
}

/// The broker settings a session lives by (VerneMQ's names in the field docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// `max_online_messages`, `max_offline_messages`.
    pub limits: QueueLimits,
    /// `max_inflight_messages`: QoS 1/2 messages sent and unacknowledged; 0 = no limit.
    pub max_inflight: u16,
    /// `retry_interval`: when an unacknowledged message is sent again (MQTT 3.x).
    pub retry_interval: Duration,
    /// `receive_max_broker`: unreleased QoS 2 publishes an MQTT 5 client may have.
    pub receive_max_broker: u16,
    /// `topic_alias_max_client`: topic aliases an MQTT 5 client may use.
    pub topic_alias_max_client: u16,
    /// `max_client_id_size`.
    pub max_client_id_size: usize,
    /// `persistent_client_expiration`: how long an MQTT 3 persistent session is kept offline.
    pub persistent_expiry: SessionExpiry,
    /// `suppress_lwt_on_session_takeover`.
    pub suppress_lwt_on_takeover: bool,
    /// `max_last_will_delay`: the longest will delay granted (`None`: the client's).
    pub max_will_delay: Option<Duration>,
    /// `upgrade_outgoing_qos`: deliver at the subscription's QoS, not the lower published one.
    pub upgrade_outgoing_qos: bool,
}

impl Default for SessionSettings {
    /// VerneMQ's defaults.
    fn default() -> Self {
        Self {
            limits: QueueLimits::default(),
            max_inflight: 20,
            retry_interval: Duration::from_secs(20),
            receive_max_broker: u16::MAX,
            topic_alias_max_client: 0,
            max_client_id_size: 100,
            persistent_expiry: SessionExpiry::Never,
            suppress_lwt_on_takeover: false,
            max_will_delay: None,
            upgrade_outgoing_qos: false,
        }
    }
}

pub(super) type Transport<S> = Framed<S, CheckedCodec>;

pub(super) async fn run<S>(
    sessions: SessionsHandle,
    stream: S,
    peer: SocketAddr,
    settings: ConnectionSettings,
    stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let _socket = SocketCount::open(sessions.metrics());
    // The handshake and the attach are boxed: their futures are freed once done, and an idle
    // session's task then holds only the serving state.
    let tap = sessions.traces().tap(Arc::clone(&settings.mountpoint));
    let handshake = handshake(stream, &settings, sessions.metrics(), tap);
    let Some((mut framed, accepted)) = Box::pin(handshake).await else {
        return;
    };
    let start = Session::start(&sessions, &mut framed, peer, &settings, accepted);
    let Some((mut session, kicked, will)) = Box::pin(start).await else {
        return;
    };
    let end = session.serve(&mut framed, kicked, stop).await;
    Box::pin(session.finish(&mut framed, end, will)).await;
}

/// Reads the CONNECT (before `connect_timeout`) and decides on it; refused clients get their
/// CONNACK here and `None` comes back.
async fn handshake<S>(
    stream: S,
    settings: &ConnectionSettings,
    metrics: &Arc<Metrics>,
    trace: TraceTap,
) -> Option<(Transport<S>, Accepted)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let codec = CheckedCodec {
        codec: MqttCodec::Version(VersionCodec),
        max_packet_size: settings.max_packet_size,
        metrics: Arc::clone(metrics),
        trace,
    };
    let mut framed = Framed::new(stream, codec);
    let deadline = Instant::now() + settings.connect_timeout;
    let connect = match read_connect(&mut framed, deadline, settings.max_packet_size).await {
        Ok(connect) => connect,
        Err(ConnectFailure::Refused(return_code)) => {
            // The version codec cannot encode: answer as 3.1.1.
            framed.codec_mut().codec = MqttCodec::V3(v3::Codec::new(settings.max_packet_size));
            let _ = framed.send(refused_v3(return_code)).await;
            return None;
        }
        Err(ConnectFailure::Malformed) => {
            metrics.count_one(Counter::ProtocolError);
            return None;
        }
        Err(ConnectFailure::Gone) => return None,
    };
    let max_id = settings.session.max_client_id_size;
    let refused = match connect::connect(connect, settings.policy, max_id, fresh_client_id) {
        Ok(accepted) => match authenticate(&accepted, settings) {
            None => return Some((framed, accepted)),
            Some(why) => Some(refusal(accepted.protocol, why)),
        },
        Err(refusal) => refusal.map(|connack| *connack),
    };
    match refused {
        Some(connack) => {
            let _ = framed.send(connack).await;
        }
        None => metrics.count_one(Counter::ProtocolError),
    }
    None
}

/// An open MQTT socket: counted open when made, closed when dropped (however the connection
/// ends, even if its task is aborted).
struct SocketCount(Arc<Metrics>);

impl SocketCount {
    fn open(metrics: &Arc<Metrics>) -> Self {
        metrics.count_one(Counter::SocketOpen);
        Self(Arc::clone(metrics))
    }
}

impl Drop for SocketCount {
    fn drop(&mut self) {
        self.0.count_one(Counter::SocketClose);
    }
}

/// Why no CONNECT came through.
enum ConnectFailure {
    /// Answered with this 3.1.1 CONNACK (unsupported level, rejected client id).
    Refused(v3::ConnectAckReason),
    /// Not a valid CONNECT: closed without an answer.
    Malformed,
    /// The client went away or stayed silent past `mqtt_connect_timeout`.
    Gone,
}

/// Asks the authentication plugins; `None` when the client may connect.
fn authenticate(accepted: &Accepted, settings: &ConnectionSettings) -> Option<Refusal> {
    let verdict = settings.auth.authenticate(
        settings.policy.allow_anonymous,
        &accepted.client_id,
        accepted.user.as_deref(),
        accepted.password.as_deref(),
    );
    match verdict {
        AuthVerdict::Accepted => None,
        AuthVerdict::BadCredentials => Some(Refusal::BadCredentials),
        AuthVerdict::NotAuthorized => Some(Refusal::NotAuthorized),
    }
}

/// Detects the protocol version, switches to its codec and reads the CONNECT before `deadline`.
/// A CONNECT the codec rejects is refused with a 3.1.1 CONNACK where the spec asks for one
/// (unsupported protocol level, empty client id without clean session) and otherwise closed.
async fn read_connect<S>(
    framed: &mut Transport<S>,
    deadline: Instant,
    max_packet_size: u32,
) -> Result<MqttPacket, ConnectFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let unsupported = ConnectFailure::Refused(v3::ConnectAckReason::UnacceptableProtocolVersion);
    let version = match tokio::time::timeout_at(deadline, framed.next()).await {
        Ok(Some(Ok((MqttPacket::Version(version), _)))) => version,
        Ok(Some(Err(_))) if is_unsupported_level(framed.read_buffer()) => return Err(unsupported),
        Ok(Some(Ok(_) | Err(_))) => return Err(ConnectFailure::Malformed),
        Ok(None) | Err(_) => return Err(ConnectFailure::Gone),
    };
    match check_connect(framed.read_buffer()) {
        Ok(()) => {}
        Err(ConnectProblem::NameLevelMismatch) => return Err(unsupported),
        Err(ConnectProblem::Flags) => return Err(ConnectFailure::Malformed),
    }
    framed.codec_mut().codec = match version {
        ProtocolVersion::MQTT3 => MqttCodec::V3(v3::Codec::new(max_packet_size)),
        ProtocolVersion::MQTT5 => MqttCodec::V5(v5::Codec::new(max_packet_size, 0)),
    };
    match tokio::time::timeout_at(deadline, framed.next()).await {
        Ok(Some(Ok((packet, _)))) => Ok(packet),
        Ok(Some(Err(rmqtt_codec::error::DecodeError::InvalidClientId)))
            if version == ProtocolVersion::MQTT3 =>
        {
            Err(ConnectFailure::Refused(
                v3::ConnectAckReason::IdentifierRejected,
            ))
        }
        Ok(Some(Err(_))) => Err(ConnectFailure::Malformed),
        Ok(None) | Err(_) => Err(ConnectFailure::Gone),
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
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
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
