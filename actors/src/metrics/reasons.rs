//! The reason-coded counters: MQTT 5 acknowledgements by `reason_code` and MQTT 3 CONNACKs by
//! `return_code`, the codes the protocol allows for each packet, VerneMQ's names for them, and
//! where each (counter, code) pair lives among the counter slots.

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

/// The number of (counter, code) pairs.
pub const SLOTS: usize = {
    let mut total = 0;
    let mut i = 0;
    while i < REASONED.len() {
        total += REASONED[i].codes.len();
        i += 1;
    }
    total
};

/// No slot: a code the packet cannot carry.
const NONE: u8 = u8::MAX;

/// Per counter, its first slot and the slot of each code within it.
const LAYOUT: ([usize; REASONED.len()], [[u8; 256]; REASONED.len()]) = {
    let mut first = [0; REASONED.len()];
    let mut within = [[NONE; 256]; REASONED.len()];
    let mut next = 0;
    let mut i = 0;
    while i < REASONED.len() {
        first[i] = next;
        let codes = REASONED[i].codes;
        let mut k = 0;
        while k < codes.len() {
            within[i][codes[k] as usize] = k as u8;
            k += 1;
        }
        next += codes.len();
        i += 1;
    }
    (first, within)
};

/// The slot of `code` of `which` (0..[`SLOTS`]); `None` for a code the packet cannot carry.
pub fn slot(which: Reasoned, code: u8) -> Option<usize> {
    let index = which as usize;
    match LAYOUT.1[index][usize::from(code)] {
        NONE => None,
        k => Some(LAYOUT.0[index] + usize::from(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_in_enum_order_and_slots_are_dense() {
        let mut seen = std::collections::HashSet::new();
        for (i, spec) in REASONED.iter().enumerate() {
            assert_eq!(spec.which as usize, i, "{:?}", spec.which);
            for &code in spec.codes {
                let slot = slot(spec.which, code).expect("a slot");
                assert!(slot < SLOTS && seen.insert(slot), "{} {code}", spec.name);
            }
        }
        assert_eq!(seen.len(), SLOTS);
        assert_eq!(slot(Reasoned::PubackSent, 4), None, "not a PUBACK code");
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
