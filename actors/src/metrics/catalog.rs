//! The data plane's counters by VerneMQ's names: what each is called and what it means (the
//! reason-coded ones are in `reasons.rs`).

/// A counter without labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// An MQTT connection was accepted.
    SocketOpen,
    /// An MQTT connection closed.
    SocketClose,
    /// A connection failed: TLS handshake, WebSocket upgrade, or a read or write error.
    SocketError,
    /// Bytes of MQTT packets read.
    BytesReceived,
    /// Bytes of MQTT packets written.
    BytesSent,
    /// A client was silent past its keep-alive.
    ClientKeepaliveExpired,
    /// A session (its queue) was created.
    QueueSetup,
    /// A session was restored from the store at start.
    QueueInitializedFromStorage,
    /// A session (its queue) was deleted.
    QueueTeardown,
    /// Messages put into session queues.
    QueueMessageIn,
    /// Messages taken out of session queues for delivery.
    QueueMessageOut,
    /// Messages dropped: queues full, or too big for the client.
    QueueMessageDrop,
    /// Messages that expired in a queue before delivery.
    QueueMessageExpired,
    /// Subscriptions a publish matched on this node.
    RouterMatchesLocal,
    /// Peers a publish was forwarded to (one per peer with matching subscriptions).
    RouterMatchesRemote,
    /// Connections closed for a malformed packet or a protocol violation (ours, not VerneMQ's).
    ProtocolError,
    /// Bytes of forwarded publishes received from peers.
    ClusterBytesReceived,
    /// Bytes of forwarded publishes sent to peers (sent again after a resume included).
    ClusterBytesSent,
    /// Bytes of forwarded publishes dropped: the peer's buffer was full.
    ClusterBytesDropped,
    /// A cluster member became unreachable.
    NetsplitDetected,
    /// An unreachable cluster member is reachable again.
    NetsplitResolved,
}

/// Every counter with its name and help, in exposition order.
pub const COUNTERS: [(Counter, &str, &str); 21] = [
    (Counter::SocketOpen, "socket_open", "The number of times an MQTT socket has been opened."),
    (Counter::SocketClose, "socket_close", "The number of times an MQTT socket has been closed."),
    (Counter::SocketError, "socket_error", "The total number of socket errors that have occurred."),
    (Counter::BytesReceived, "bytes_received", "The total number of bytes received."),
    (Counter::BytesSent, "bytes_sent", "The total number of bytes sent."),
    (
        Counter::ClientKeepaliveExpired,
        "client_keepalive_expired",
        "The number of clients which failed to communicate within the keepalive time period.",
    ),
    (Counter::QueueSetup, "queue_setup", "The number of times a MQTT queue process has been started."),
    (
        Counter::QueueInitializedFromStorage,
        "queue_initialized_from_storage",
        "The number of times a MQTT queue process has been initialized from offline storage.",
    ),
    (
        Counter::QueueTeardown,
        "queue_teardown",
        "The number of times a MQTT queue process has been terminated.",
    ),
    (
        Counter::QueueMessageIn,
        "queue_message_in",
        "The number of PUBLISH packets received by MQTT queue processes.",
    ),
    (
        Counter::QueueMessageOut,
        "queue_message_out",
        "The number of PUBLISH packets sent from MQTT queue processes.",
    ),
    (
        Counter::QueueMessageDrop,
        "queue_message_drop",
        "The number of PUBLISH packets dropped due to full queues or a client's maximum packet size.",
    ),
    (
        Counter::QueueMessageExpired,
        "queue_message_expired",
        "The number of PUBLISH packets which expired before delivery.",
    ),
    (
        Counter::RouterMatchesLocal,
        "router_matches_local",
        "The number of matched local subscriptions.",
    ),
    (
        Counter::RouterMatchesRemote,
        "router_matches_remote",
        "The number of matched remote subscriptions.",
    ),
    (
        Counter::ProtocolError,
        "mqtt_protocol_error",
        "The number of connections closed for a malformed packet or a protocol violation.",
    ),
    (
        Counter::ClusterBytesReceived,
        "cluster_bytes_received",
        "The number of bytes received from other cluster nodes.",
    ),
    (
        Counter::ClusterBytesSent,
        "cluster_bytes_sent",
        "The number of bytes sent to other cluster nodes.",
    ),
    (
        Counter::ClusterBytesDropped,
        "cluster_bytes_dropped",
        "The number of bytes dropped while sending data to other cluster nodes.",
    ),
    (
        Counter::NetsplitDetected,
        "netsplit_detected",
        "The number of detected netsplits.",
    ),
    (
        Counter::NetsplitResolved,
        "netsplit_resolved",
        "The number of resolved netsplits.",
    ),
];

/// A counter per protocol (label `mqtt_version` = 4 for MQTT 3.1 and 3.1.1, 5 for MQTT 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioned {
    /// CONNECT received.
    ConnectReceived,
    /// PUBLISH received.
    PublishReceived,
    /// PUBLISH sent.
    PublishSent,
    /// SUBSCRIBE received.
    SubscribeReceived,
    /// SUBACK sent.
    SubackSent,
    /// UNSUBSCRIBE received.
    UnsubscribeReceived,
    /// UNSUBACK sent.
    UnsubackSent,
    /// PINGREQ received.
    PingreqReceived,
    /// PINGRESP sent.
    PingrespSent,
    /// PUBACK received (MQTT 3; MQTT 5 counts it with its reason code).
    PubackReceived,
    /// PUBACK sent (MQTT 3).
    PubackSent,
    /// PUBREC received (MQTT 3).
    PubrecReceived,
    /// PUBREC sent (MQTT 3).
    PubrecSent,
    /// PUBREL received (MQTT 3).
    PubrelReceived,
    /// PUBREL sent (MQTT 3).
    PubrelSent,
    /// PUBCOMP received (MQTT 3).
    PubcompReceived,
    /// PUBCOMP sent (MQTT 3).
    PubcompSent,
    /// DISCONNECT received (MQTT 3).
    DisconnectReceived,
    /// A PUBLISH the ACL refused.
    PublishAuthError,
    /// A subscription the ACL refused.
    SubscribeAuthError,
    /// A packet larger than `max_message_size`.
    InvalidMsgSizeError,
    /// A PUBACK for a packet id not in flight.
    PubackInvalidError,
    /// A PUBREC for a packet id not in flight.
    PubrecInvalidError,
    /// A PUBCOMP for a packet id not in flight.
    PubcompInvalidError,
}

/// Whether a versioned counter exists for MQTT 3 only or for both protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocols {
    /// Both: `mqtt_version` 4 and 5.
    Both,
    /// MQTT 3 only (MQTT 5 counts the packet by reason code instead).
    V4,
}

/// Every versioned counter with its protocols, name and help, in exposition order.
pub const VERSIONED: [(Versioned, Protocols, &str, &str); 24] = [
    (
        Versioned::ConnectReceived,
        Protocols::Both,
        "mqtt_connect_received",
        "The number of CONNECT packets received.",
    ),
    (
        Versioned::PublishReceived,
        Protocols::Both,
        "mqtt_publish_received",
        "The number of PUBLISH packets received.",
    ),
    (
        Versioned::PublishSent,
        Protocols::Both,
        "mqtt_publish_sent",
        "The number of PUBLISH packets sent.",
    ),
    (
        Versioned::SubscribeReceived,
        Protocols::Both,
        "mqtt_subscribe_received",
        "The number of SUBSCRIBE packets received.",
    ),
    (
        Versioned::SubackSent,
        Protocols::Both,
        "mqtt_suback_sent",
        "The number of SUBACK packets sent.",
    ),
    (
        Versioned::UnsubscribeReceived,
        Protocols::Both,
        "mqtt_unsubscribe_received",
        "The number of UNSUBSCRIBE packets received.",
    ),
    (
        Versioned::UnsubackSent,
        Protocols::Both,
        "mqtt_unsuback_sent",
        "The number of UNSUBACK packets sent.",
    ),
    (
        Versioned::PingreqReceived,
        Protocols::Both,
        "mqtt_pingreq_received",
        "The number of PINGREQ packets received.",
    ),
    (
        Versioned::PingrespSent,
        Protocols::Both,
        "mqtt_pingresp_sent",
        "The number of PINGRESP packets sent.",
    ),
    (
        Versioned::PubackReceived,
        Protocols::V4,
        "mqtt_puback_received",
        "The number of PUBACK packets received.",
    ),
    (
        Versioned::PubackSent,
        Protocols::V4,
        "mqtt_puback_sent",
        "The number of PUBACK packets sent.",
    ),
    (
        Versioned::PubrecReceived,
        Protocols::V4,
        "mqtt_pubrec_received",
        "The number of PUBREC packets received.",
    ),
    (
        Versioned::PubrecSent,
        Protocols::V4,
        "mqtt_pubrec_sent",
        "The number of PUBREC packets sent.",
    ),
    (
        Versioned::PubrelReceived,
        Protocols::V4,
        "mqtt_pubrel_received",
        "The number of PUBREL packets received.",
    ),
    (
        Versioned::PubrelSent,
        Protocols::V4,
        "mqtt_pubrel_sent",
        "The number of PUBREL packets sent.",
    ),
    (
        Versioned::PubcompReceived,
        Protocols::V4,
        "mqtt_pubcomp_received",
        "The number of PUBCOMP packets received.",
    ),
    (
        Versioned::PubcompSent,
        Protocols::V4,
        "mqtt_pubcomp_sent",
        "The number of PUBCOMP packets sent.",
    ),
    (
        Versioned::DisconnectReceived,
        Protocols::V4,
        "mqtt_disconnect_received",
        "The number of DISCONNECT packets received.",
    ),
    (
        Versioned::PublishAuthError,
        Protocols::Both,
        "mqtt_publish_auth_error",
        "The number of unauthorized publish attempts.",
    ),
    (
        Versioned::SubscribeAuthError,
        Protocols::Both,
        "mqtt_subscribe_auth_error",
        "The number of unauthorized subscription attempts.",
    ),
    (
        Versioned::InvalidMsgSizeError,
        Protocols::Both,
        "mqtt_invalid_msg_size_error",
        "The number of packets exceeding the maximum allowed size.",
    ),
    (
        Versioned::PubackInvalidError,
        Protocols::Both,
        "mqtt_puback_invalid_error",
        "The number of unexpected PUBACK messages received.",
    ),
    (
        Versioned::PubrecInvalidError,
        Protocols::Both,
        "mqtt_pubrec_invalid_error",
        "The number of unexpected PUBREC messages received.",
    ),
    (
        Versioned::PubcompInvalidError,
        Protocols::Both,
        "mqtt_pubcomp_invalid_error",
        "The number of unexpected PUBCOMP messages received.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_in_enum_order() {
        for (i, (counter, ..)) in COUNTERS.iter().enumerate() {
            assert_eq!(*counter as usize, i, "{counter:?}");
        }
        for (i, (versioned, ..)) in VERSIONED.iter().enumerate() {
            assert_eq!(*versioned as usize, i, "{versioned:?}");
        }
    }
}
