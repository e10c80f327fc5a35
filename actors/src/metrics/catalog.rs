//! The data plane's metrics by VerneMQ's names: what each counter is called, what it means, and
//! which reason codes each MQTT 5 acknowledgement can carry.

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
    /// Connections closed for a malformed packet or a protocol violation (ours, not VerneMQ's).
    ProtocolError,
}

/// Every counter with its name and help, in exposition order.
pub const COUNTERS: [(Counter, &str, &str); 15] = [
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
        Counter::ProtocolError,
        "mqtt_protocol_error",
        "The number of connections closed for a malformed packet or a protocol violation.",
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

/// A counter per reason code: MQTT 5 acknowledgements (`reason_code`), and MQTT 3 CONNACKs
/// (`return_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reasoned {
    /// MQTT 3 CONNACK by return code.
    ConnackSentV4,
    /// MQTT 5 CONNACK by reason code.
    ConnackSent,
    /// PUBACK received.
    PubackReceived,
    /// PUBACK sent.
    PubackSent,
    /// PUBREC received.
    PubrecReceived,
    /// PUBREC sent.
    PubrecSent,
    /// PUBREL received.
    PubrelReceived,
    /// PUBREL sent.
    PubrelSent,
    /// PUBCOMP received.
    PubcompReceived,
    /// PUBCOMP sent.
    PubcompSent,
    /// DISCONNECT received.
    DisconnectReceived,
    /// DISCONNECT sent.
    DisconnectSent,
    /// AUTH received.
    AuthReceived,
    /// AUTH sent.
    AuthSent,
}

const CONNACK_V4: &[u8] = &[0, 1, 2, 3, 4, 5];
const CONNACK: &[u8] = &[
    0, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 140, 144, 149, 151, 153, 154, 155,
    156, 157, 159,
];
const PUBACK: &[u8] = &[0, 16, 128, 131, 135, 144, 145, 151, 153];
const PUBREL: &[u8] = &[0, 146];
const DISCONNECT: &[u8] = &[
    0, 4, 128, 129, 130, 131, 135, 137, 139, 141, 142, 143, 144, 147, 148, 149, 150, 151, 152, 153,
    154, 155, 156, 157, 158, 159, 160, 161, 162,
];
const AUTH: &[u8] = &[0, 24, 25];

/// One reason-coded counter family: its name, help, the protocol it counts, its label and the
/// codes the protocol allows for the packet.
#[derive(Debug)]
pub struct ReasonedSpec {
    /// Which counter.
    pub which: Reasoned,
    /// Metric name.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// `mqtt_version` label value.
    pub version: &'static str,
    /// `reason_code` (MQTT 5) or `return_code` (MQTT 3).
    pub label: &'static str,
    /// The codes exported (zeros included).
    pub codes: &'static [u8],
}

const fn v5(
    which: Reasoned,
    name: &'static str,
    help: &'static str,
    codes: &'static [u8],
) -> ReasonedSpec {
    ReasonedSpec {
        which,
        name,
        help,
        version: "5",
        label: "reason_code",
        codes,
    }
}

/// Every reason-coded counter, in exposition order.
pub const REASONED: [ReasonedSpec; 14] = [
    ReasonedSpec {
        which: Reasoned::ConnackSentV4,
        name: "mqtt_connack_sent",
        help: "The number of CONNACK packets sent.",
        version: "4",
        label: "return_code",
        codes: CONNACK_V4,
    },
    v5(
        Reasoned::ConnackSent,
        "mqtt_connack_sent",
        "The number of CONNACK packets sent.",
        CONNACK,
    ),
    v5(
        Reasoned::PubackReceived,
        "mqtt_puback_received",
        "The number of PUBACK packets received.",
        PUBACK,
    ),
    v5(
        Reasoned::PubackSent,
        "mqtt_puback_sent",
        "The number of PUBACK packets sent.",
        PUBACK,
    ),
    v5(
        Reasoned::PubrecReceived,
        "mqtt_pubrec_received",
        "The number of PUBREC packets received.",
        PUBACK,
    ),
    v5(
        Reasoned::PubrecSent,
        "mqtt_pubrec_sent",
        "The number of PUBREC packets sent.",
        PUBACK,
    ),
    v5(
        Reasoned::PubrelReceived,
        "mqtt_pubrel_received",
        "The number of PUBREL packets received.",
        PUBREL,
    ),
    v5(
        Reasoned::PubrelSent,
        "mqtt_pubrel_sent",
        "The number of PUBREL packets sent.",
        PUBREL,
    ),
    v5(
        Reasoned::PubcompReceived,
        "mqtt_pubcomp_received",
        "The number of PUBCOMP packets received.",
        PUBREL,
    ),
    v5(
        Reasoned::PubcompSent,
        "mqtt_pubcomp_sent",
        "The number of PUBCOMP packets sent.",
        PUBREL,
    ),
    v5(
        Reasoned::DisconnectReceived,
        "mqtt_disconnect_received",
        "The number of DISCONNECT packets received.",
        DISCONNECT,
    ),
    v5(
        Reasoned::DisconnectSent,
        "mqtt_disconnect_sent",
        "The number of DISCONNECT packets sent.",
        DISCONNECT,
    ),
    v5(
        Reasoned::AuthReceived,
        "mqtt_auth_received",
        "The number of AUTH packets received.",
        AUTH,
    ),
    v5(
        Reasoned::AuthSent,
        "mqtt_auth_sent",
        "The number of AUTH packets sent.",
        AUTH,
    ),
];

/// VerneMQ's snake_case name of a reason code in `spec`'s family.
pub fn code_name(spec: &ReasonedSpec, code: u8) -> &'static str {
    if spec.which == Reasoned::ConnackSentV4 {
        return match code {
            0 => "success",
            1 => "unsupported_protocol_version",
            2 => "client_identifier_not_valid",
            3 => "server_unavailable",
            4 => "bad_username_or_password",
            _ => "not_authorized",
        };
    }
    let is_disconnect = matches!(
        spec.which,
        Reasoned::DisconnectReceived | Reasoned::DisconnectSent
    );
    match code {
        0 if is_disconnect => "normal_disconnect",
        0 => "success",
        4 => "disconnect_with_will_msg",
        16 => "no_matching_subscribers",
        24 => "continue_authentication",
        25 => "reauthenticate",
        128 => "unspecified_error",
        129 => "malformed_packet",
        130 => "protocol_error",
        131 => "implementation_specific_error",
        132 => "unsupported_protocol_version",
        133 => "client_identifier_not_valid",
        134 => "bad_username_or_password",
        135 => "not_authorized",
        136 => "server_unavailable",
        137 => "server_busy",
        138 => "banned",
        139 => "server_shutting_down",
        140 => "bad_authentication_method",
        141 => "keep_alive_timeout",
        142 => "session_taken_over",
        143 => "topic_filter_invalid",
        144 => "topic_name_invalid",
        145 => "packet_id_in_use",
        146 => "packet_id_not_found",
        147 => "receive_max_exceeded",
        148 => "topic_alias_invalid",
        149 => "packet_too_large",
        150 => "message_rate_too_high",
        151 => "quota_exceeded",
        152 => "administrative_action",
        153 => "payload_format_invalid",
        154 => "retain_not_supported",
        155 => "qos_not_supported",
        156 => "use_another_server",
        157 => "server_moved",
        158 => "shared_subs_not_supported",
        159 => "connection_rate_exceeded",
        160 => "max_connect_time",
        161 => "subscription_ids_not_supported",
        162 => "wildcard_subs_not_supported",
        _ => "unknown",
    }
}

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
        for (i, spec) in REASONED.iter().enumerate() {
            assert_eq!(spec.which as usize, i, "{:?}", spec.which);
        }
    }

    #[test]
    fn every_exported_code_has_a_name() {
        for spec in &REASONED {
            for &code in spec.codes {
                assert_ne!(code_name(spec, code), "unknown", "{} {code}", spec.name);
            }
        }
        assert_eq!(code_name(&REASONED[10], 0), "normal_disconnect");
        assert_eq!(code_name(&REASONED[2], 16), "no_matching_subscribers");
        assert_eq!(code_name(&REASONED[0], 5), "not_authorized");
    }
}
