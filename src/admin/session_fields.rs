//! The fields of `session show` (VerneMQ's names, alphabetically), how filter values for each
//! are read, and where each value comes from.

use super::query::{Field, Kind};

/// The fields of `session show`, alphabetically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionField {
    CleanSession,
    ClientId,
    DeliverMode,
    Dup,
    IsOffline,
    IsOnline,
    IsPlugin,
    Mountpoint,
    MsgQos,
    MsgRef,
    NoLocal,
    Node,
    NumSessions,
    OfflineMessages,
    OnlineMessages,
    Payload,
    PeerHost,
    PeerPort,
    Protocol,
    Qos,
    QueuePid,
    QueueSize,
    QueueStartedAt,
    Rap,
    RoutingKey,
    SessionPid,
    SessionStartedAt,
    Statename,
    Topic,
    User,
    WaitingAcks,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The session and its queue (always there).
    Queue,
    /// The connection (`null` when offline).
    Online,
    /// One subscription: one row each.
    Subscription,
    /// One queued message: one row each.
    Message,
}

/// Short for the field names in matches.
pub(super) use SessionField as F;

impl Field for SessionField {
    const ALL: &'static [Self] = &[
        F::CleanSession,
        F::ClientId,
        F::DeliverMode,
        F::Dup,
        F::IsOffline,
        F::IsOnline,
        F::IsPlugin,
        F::Mountpoint,
        F::MsgQos,
        F::MsgRef,
        F::NoLocal,
        F::Node,
        F::NumSessions,
        F::OfflineMessages,
        F::OnlineMessages,
        F::Payload,
        F::PeerHost,
        F::PeerPort,
        F::Protocol,
        F::Qos,
        F::QueuePid,
        F::QueueSize,
        F::QueueStartedAt,
        F::Rap,
        F::RoutingKey,
        F::SessionPid,
        F::SessionStartedAt,
        F::Statename,
        F::Topic,
        F::User,
        F::WaitingAcks,
    ];
    const DEFAULT: &'static [Self] = &[
        F::ClientId,
        F::IsOnline,
        F::Mountpoint,
        F::PeerHost,
        F::PeerPort,
        F::User,
    ];

    fn name(self) -> &'static str {
        match self {
            F::CleanSession => "clean_session",
            F::ClientId => "client_id",
            F::DeliverMode => "deliver_mode",
            F::Dup => "dup",
            F::IsOffline => "is_offline",
            F::IsOnline => "is_online",
            F::IsPlugin => "is_plugin",
            F::Mountpoint => "mountpoint",
            F::MsgQos => "msg_qos",
            F::MsgRef => "msg_ref",
            F::NoLocal => "no_local",
            F::Node => "node",
            F::NumSessions => "num_sessions",
            F::OfflineMessages => "offline_messages",
            F::OnlineMessages => "online_messages",
            F::Payload => "payload",
            F::PeerHost => "peer_host",
            F::PeerPort => "peer_port",
            F::Protocol => "protocol",
            F::Qos => "qos",
            F::QueuePid => "queue_pid",
            F::QueueSize => "queue_size",
            F::QueueStartedAt => "queue_started_at",
            F::Rap => "rap",
            F::RoutingKey => "routing_key",
            F::SessionPid => "session_pid",
            F::SessionStartedAt => "session_started_at",
            F::Statename => "statename",
            F::Topic => "topic",
            F::User => "user",
            F::WaitingAcks => "waiting_acks",
        }
    }

    fn kind(self) -> Kind {
        match self {
            F::CleanSession
            | F::Dup
            | F::IsOffline
            | F::IsOnline
            | F::IsPlugin
            | F::NoLocal
            | F::Rap => Kind::Bool,
            F::MsgQos
            | F::NumSessions
            | F::OfflineMessages
            | F::OnlineMessages
            | F::PeerPort
            | F::Protocol
            | F::Qos
            | F::QueueSize
            | F::QueueStartedAt
            | F::SessionStartedAt
            | F::WaitingAcks => Kind::Int,
            _ => Kind::Text,
        }
    }
}

impl SessionField {
    /// Where the field's value comes from.
    pub fn group(self) -> Group {
        match self {
            F::User
            | F::PeerHost
            | F::PeerPort
            | F::Protocol
            | F::WaitingAcks
            | F::SessionStartedAt
            | F::SessionPid => Group::Online,
            F::Topic | F::Qos | F::Rap | F::NoLocal => Group::Subscription,
            F::MsgRef | F::MsgQos | F::RoutingKey | F::Dup | F::Payload => Group::Message,
            _ => Group::Queue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_alphabetical_and_named_once() {
        let names: Vec<&str> = SessionField::ALL.iter().map(|f| f.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 31);
        for field in SessionField::DEFAULT {
            assert!(SessionField::ALL.contains(field));
        }
    }

    #[test]
    fn groups_and_kinds_follow_the_reference() {
        assert_eq!(F::Topic.group(), Group::Subscription);
        assert_eq!(F::Payload.group(), Group::Message);
        assert_eq!(F::User.group(), Group::Online);
        assert_eq!(F::Statename.group(), Group::Queue);
        assert_eq!(F::PeerPort.kind(), Kind::Int);
        assert_eq!(F::ClientId.kind(), Kind::Text);
        assert_eq!(F::User.kind(), Kind::Text);
        assert_eq!(F::IsOnline.kind(), Kind::Bool);
    }
}
