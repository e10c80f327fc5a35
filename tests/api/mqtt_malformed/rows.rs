//! The rows of the conformance table, byte for byte; section numbers are those of the 3.1.1 and
//! 5.0 specs (§4.8 / §4.13: a protocol violation closes the connection; MQTT 5 SHOULD say why
//! with a DISCONNECT or, for a bad CONNECT, MAY with a CONNACK).

use super::Outcome::{AnswerOrClose, Close, CloseAfter, CloseMay, Open};
use super::*;

/// MQTT 3.1.1: after a violation the server closes without a word (§4.8), except where a
/// CONNACK code is asked for (§3.1.2.2: 0x01) or a SUBACK may refuse a filter (§3.9.3: 0x80).
#[rustfmt::skip]
pub fn v4(oversized: Vec<u8>) -> Vec<Row> {
    let bad_filter = AnswerOrClose(SUBACK_FAILURE, &[]);
    vec![
        // Controls: valid bytes next to the bad ones below are served.
        fresh(4, "CONNECT with a will", b"\x10\x15\x00\x04MQTT\x04\x0e\x00\x3c\x00\x01n\x00\x01w\x00\x03bye", Open(CONNACK_OK)),
        fresh(4, "CONNECT with a password", b"\x10\x14\x00\x04MQTT\x04\xc2\x00\x3c\x00\x01n\x00\x01u\x00\x02pw", Open(CONNACK_OK)),
        after(4, "PUBLISH, PINGREQ", b"\x30\x06\x00\x03a/bx\xc0\x00", Open(PINGRESP)),
        after(4, "QoS 1 PUBLISH", b"\x32\x08\x00\x03a/b\x00\x01x", Open(PUBACK_1)),
        after(4, "SUBSCRIBE a/#", b"\x82\x08\x00\x01\x00\x03a/#\x00", Open(SUBACK_GRANTED)),
        // §3.1.0-1: the first packet must be CONNECT.
        fresh(4, "PINGREQ first", b"\xc0\x00", Close),
        fresh(4, "PUBLISH first", b"\x30\x05\x00\x01ahi", Close),
        fresh(4, "SUBSCRIBE first", b"\x82\x06\x00\x01\x00\x01a\x00", Close),
        // §3.1.2-1: a wrong protocol name may be closed.
        fresh(4, "name MQTX", b"\x10\x0d\x00\x04MQTX\x04\x02\x00\x3c\x00\x01n", Close),
        // §3.1.2-2: an unsupported level gets CONNACK 0x01.
        fresh(4, "level 6", b"\x10\x0d\x00\x04MQTT\x06\x02\x00\x3c\x00\x01n", CloseAfter(CONNACK_LEVEL)),
        // §3.1.2-3: the reserved connect flag must be 0.
        fresh(4, "reserved connect flag", b"\x10\x0d\x00\x04MQTT\x04\x03\x00\x3c\x00\x01n", Close),
        // §2.2.2: CONNECT's fixed-header flags are reserved (0).
        fresh(4, "CONNECT flags 0001", b"\x11\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01n", Close),
        // §1.5.3-1: ill-formed UTF-8 closes (a CONNACK 0x02 first does no harm).
        fresh(4, "client id 0xff", b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01\xff", CloseMay(&[CONNACK_ID])),
        fresh(4, "cut CONNECT, EOF", b"\x10\x0d\x00\x04MQ", Close).eof(),
        // mqtt_connect_timeout: a CONNECT that never ends.
        fresh(4, "cut CONNECT, silence", b"\x10\x0d\x00\x04MQTT\x04", Close),
        // §3.1.0-2: a second CONNECT is a violation.
        after(4, "second CONNECT", b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01x", Close),
        // §2.2.1: types 0 and 15 are reserved in 3.1.1.
        after(4, "type 0", b"\x00\x00", Close),
        after(4, "type 15", b"\xf0\x00", Close),
        // §2.2.2: fixed-header flags that must be 0010 (SUBSCRIBE, UNSUBSCRIBE, PUBREL) or 0000.
        after(4, "SUBSCRIBE flags 0000", b"\x80\x06\x00\x01\x00\x01a\x00", Close),
        after(4, "UNSUBSCRIBE flags 0000", b"\xa0\x05\x00\x01\x00\x01a", Close),
        after(4, "PUBREL flags 0000", b"\x60\x02\x00\x01", Close),
        after(4, "PINGREQ flags 0001", b"\xc1\x00", Close),
        // §2.2.3: at most 4 remaining-length bytes; max_message_size bounds the rest.
        after(4, "remaining length 5 bytes", b"\x30\xff\xff\xff\xff\x01", Close),
        after(4, "over max_message_size", &oversized, Close),
        after(4, "cut PUBLISH, EOF", b"\x30\x0a\x00\x03a/b", Close).eof(),
        after(4, "cut remaining length, EOF", b"\x30\xff", Close).eof(),
        // §3.3.1-4: QoS 3; §2.3.1-1: QoS > 0 needs a non-zero packet id.
        after(4, "PUBLISH QoS 3", b"\x36\x06\x00\x01a\x00\x01x", Close),
        after(4, "QoS 1, no packet id", b"\x32\x03\x00\x01a", Close),
        after(4, "QoS 1, packet id 0", b"\x32\x06\x00\x01a\x00\x00x", Close),
        after(4, "QoS 2, packet id 0", b"\x34\x06\x00\x01a\x00\x00x", Close),
        // §1.5.3-1 / -2: ill-formed UTF-8 (a bad sequence, a surrogate) and U+0000 in a topic.
        after(4, "topic c3 28", b"\x30\x05\x00\x02\xc3\x28x", Close),
        after(4, "topic surrogate", b"\x30\x06\x00\x03\xed\xa0\x80x", Close),
        after(4, "topic with NUL", b"\x30\x06\x00\x03a\x00bx", Close),
        // §3.3.2-2: no wildcards in a topic name; §4.7.3-1: not empty.
        after(4, "PUBLISH to a/#", b"\x30\x06\x00\x03a/#x", Close),
        after(4, "PUBLISH to a/+", b"\x30\x06\x00\x03a/+x", Close),
        after(4, "PUBLISH to ''", b"\x30\x03\x00\x00x", Close),
        after(4, "topic past the end", b"\x30\x04\x00\x09ab", Close),
        // §2.3.1-1: SUBSCRIBE needs a non-zero packet id too.
        after(4, "SUBSCRIBE packet id 0", b"\x82\x06\x00\x00\x00\x01a\x00", Close),
        // §3.8.3-4: requested QoS 3.
        after(4, "SUBSCRIBE QoS 3", b"\x82\x06\x00\x01\x00\x01a\x03", Close),
        after(4, "filter past the end", b"\x82\x06\x00\x01\x00\x09a\x00", Close),
        // §4.7.1-2 / -3: misplaced wildcards: SUBACK 0x80, or a close (§4.8).
        after(4, "SUBSCRIBE a/#/b", b"\x82\x0a\x00\x01\x00\x05a/#/b\x00", bad_filter),
        after(4, "SUBSCRIBE a#", b"\x82\x07\x00\x01\x00\x02a#\x00", bad_filter),
        after(4, "SUBSCRIBE a+/b", b"\x82\x09\x00\x01\x00\x04a+/b\x00", bad_filter),

        // 3.1's name with 3.1.1's level and the reverse: no protocol this server speaks.
        fresh(4, "MQIsdp level 4", b"\x10\x0f\x00\x06MQIsdp\x04\x02\x00\x3c\x00\x01n", CloseAfter(CONNACK_LEVEL)),
        fresh(4, "MQTT level 3", b"\x10\x0d\x00\x04MQTT\x03\x02\x00\x3c\x00\x01n", CloseAfter(CONNACK_LEVEL)),
        // §3.1.2-13 / -15: no will QoS or will retain without the will flag.
        fresh(4, "will QoS, no will", b"\x10\x0d\x00\x04MQTT\x04\x0a\x00\x3c\x00\x01n", Close),
        fresh(4, "will retain, no will", b"\x10\x0d\x00\x04MQTT\x04\x22\x00\x3c\x00\x01n", Close),
        // §3.1.2-22: no password flag without the username flag.
        fresh(4, "password, no username", b"\x10\x11\x00\x04MQTT\x04\x42\x00\x3c\x00\x01n\x00\x02pw", Close),
        // §3.8.3-3 / §3.10.3-2: at least one filter; §3.8.3-4: reserved option bits.
        after(4, "SUBSCRIBE, no filter", b"\x82\x02\x00\x01", Close),
        after(4, "UNSUBSCRIBE, no filter", b"\xa2\x02\x00\x01", Close),
        after(4, "SUBSCRIBE options 0x04", b"\x82\x06\x00\x01\x00\x01a\x04", Close),
    ]
}

/// MQTT 5: a violation closes, after a DISCONNECT naming it (§4.13: SHOULD) or, for a CONNECT,
/// after a CONNACK naming it (MAY); an invalid filter may get SUBACK 0x8F instead (§3.9.3).
#[rustfmt::skip]
pub fn v5(oversized: Vec<u8>) -> Vec<Row> {
    let malformed = CloseMay(&[MALFORMED]);
    let either = CloseMay(&[MALFORMED, PROTOCOL]);
    let bad_connect = CloseMay(&[CONNACK_MALFORMED, CONNACK_PROTOCOL]);
    let bad_topic = CloseMay(&[MALFORMED, PROTOCOL, TOPIC_INVALID]);
    let bad_filter = AnswerOrClose(SUBACK_INVALID, &[MALFORMED, PROTOCOL, FILTER_INVALID]);
    vec![
        // Controls: valid bytes next to the bad ones below are served.
        fresh(5, "receive maximum 10", b"\x10\x11\x00\x04MQTT\x05\x02\x00\x3c\x03\x21\x00\x0a\x00\x01n", Open(CONNACK_OK)),
        after(5, "PUBLISH with a property", b"\x30\x09\x00\x03a/b\x02\x01\x01x\xc0\x00", Open(PINGRESP)),
        after(5, "SUBSCRIBE a/#", b"\x82\x09\x00\x01\x00\x00\x03a/#\x00", Open(SUBACK_GRANTED)),
        // §3.1.2.1: a wrong name may get CONNACK 0x84.
        fresh(5, "name MQTX", b"\x10\x0e\x00\x04MQTX\x05\x02\x00\x3c\x00\x00\x01n", CloseMay(&[CONNACK_VERSION])),
        fresh(5, "MQIsdp level 5", b"\x10\x10\x00\x06MQIsdp\x05\x02\x00\x3c\x00\x00\x01n", CloseMay(&[CONNACK_VERSION, CONNACK_LEVEL])),
        // §3.1.2-3: the reserved flag; §2.2.2: CONNECT's fixed-header flags; §1.5.4-1: UTF-8.
        fresh(5, "reserved connect flag", b"\x10\x0e\x00\x04MQTT\x05\x03\x00\x3c\x00\x00\x01n", CloseMay(&[CONNACK_MALFORMED])),
        fresh(5, "CONNECT flags 0001", b"\x11\x0e\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x01n", CloseMay(&[CONNACK_MALFORMED])),
        fresh(5, "client id 0xff", b"\x10\x0e\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x01\xff", CloseMay(&[CONNACK_MALFORMED, CONNACK_BAD_ID])),
        // §2.2.2: property length past the end; receive maximum twice or 0 (§3.1.2.11.3).
        fresh(5, "properties past the end", b"\x10\x0e\x00\x04MQTT\x05\x02\x00\x3c\x09\x00\x01n", CloseMay(&[CONNACK_MALFORMED])),
        fresh(5, "receive maximum twice", b"\x10\x14\x00\x04MQTT\x05\x02\x00\x3c\x06\x21\x00\x0a\x21\x00\x0a\x00\x01n", bad_connect),
        fresh(5, "receive maximum 0", b"\x10\x11\x00\x04MQTT\x05\x02\x00\x3c\x03\x21\x00\x00\x00\x01n", bad_connect),
        // §3.1.0-2: a second CONNECT is a protocol error.
        after(5, "second CONNECT", b"\x10\x0e\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x01x", CloseMay(&[PROTOCOL])),
        // §2.1.2: type 0 is reserved; AUTH without an authentication method (§4.12).
        after(5, "type 0", b"\x00\x00", either),
        after(5, "AUTH, no method", b"\xf0\x00", CloseMay(&[PROTOCOL])),
        after(5, "AUTH flags 0001", b"\xf1\x00", either),
        // §2.1.3: fixed-header flags.
        after(5, "SUBSCRIBE flags 0000", b"\x80\x07\x00\x01\x00\x00\x01a\x00", malformed),
        after(5, "UNSUBSCRIBE flags 0000", b"\xa0\x06\x00\x01\x00\x00\x01a", malformed),
        after(5, "PUBREL flags 0000", b"\x60\x02\x00\x01", malformed),
        after(5, "PINGREQ flags 0001", b"\xc1\x00", malformed),
        // §1.5.5: at most 4 bytes; §3.2.2.3.6: too large is 0x95.
        after(5, "remaining length 5 bytes", b"\x30\xff\xff\xff\xff\x01", malformed),
        after(5, "over max_message_size", &oversized, CloseMay(&[TOO_LARGE])),
        after(5, "cut PUBLISH, EOF", b"\x30\x0a\x00\x03a/b", malformed).eof(),
        // §3.3.1-4: QoS 3; §2.2.1-3: QoS > 0 needs a non-zero packet id.
        after(5, "PUBLISH QoS 3", b"\x36\x07\x00\x01a\x00\x01\x00x", malformed),
        after(5, "QoS 1, no packet id", b"\x32\x03\x00\x01a", malformed),
        after(5, "QoS 1, packet id 0", b"\x32\x07\x00\x01a\x00\x00\x00x", either),
        // §1.5.4-1 / -2: ill-formed UTF-8 and U+0000.
        after(5, "topic c3 28", b"\x30\x06\x00\x02\xc3\x28\x00x", malformed),
        after(5, "topic with NUL", b"\x30\x07\x00\x03a\x00b\x00x", bad_topic),
        // §3.3.2-2: no wildcards; §3.3.2-1: no empty topic without a topic alias.
        after(5, "PUBLISH to a/#", b"\x30\x07\x00\x03a/#\x00x", bad_topic),
        after(5, "PUBLISH to a/+", b"\x30\x07\x00\x03a/+\x00x", bad_topic),
        after(5, "PUBLISH to ''", b"\x30\x04\x00\x00\x00x", bad_topic),
        // §3.3.2-8: topic alias 0; §2.2.2.2: a property twice, an unknown property.
        after(5, "topic alias 0", b"\x30\x08\x00\x01a\x03\x23\x00\x00x", CloseMay(&[PROTOCOL, ALIAS_INVALID])),
        after(5, "property twice", b"\x30\x09\x00\x01a\x04\x01\x00\x01\x00x", either),
        after(5, "property 0x7f", b"\x30\x07\x00\x01a\x02\x7f\x00x", either),
        // §3.8.3.1: QoS 3, retain handling 3.
        after(5, "SUBSCRIBE QoS 3", b"\x82\x07\x00\x01\x00\x00\x01a\x03", malformed),
        after(5, "retain handling 3", b"\x82\x07\x00\x01\x00\x00\x01a\x30", either),
        // §4.7.1: misplaced wildcards.
        after(5, "SUBSCRIBE a/#/b", b"\x82\x0b\x00\x01\x00\x00\x05a/#/b\x00", bad_filter),
        after(5, "SUBSCRIBE a#", b"\x82\x08\x00\x01\x00\x00\x02a#\x00", bad_filter),

        // §3.1.2-11 / -13: will QoS / retain without a will.
        fresh(5, "will QoS, no will", b"\x10\x0e\x00\x04MQTT\x05\x0a\x00\x3c\x00\x00\x01n", bad_connect),
        fresh(5, "will retain, no will", b"\x10\x0e\x00\x04MQTT\x05\x22\x00\x3c\x00\x00\x01n", bad_connect),
        // §3.3.4-6: no subscription identifier from a client.
        after(5, "subscription id", b"\x30\x07\x00\x01a\x02\x0b\x01x", either),
        // §3.8.3-2 / §3.10.3-2: at least one filter; §3.8.3-5: reserved option bits.
        after(5, "SUBSCRIBE, no filter", b"\x82\x03\x00\x01\x00", either),
        after(5, "UNSUBSCRIBE, no filter", b"\xa2\x03\x00\x01\x00", either),
        after(5, "SUBSCRIBE options 0xc0", b"\x82\x07\x00\x01\x00\x00\x01a\xc0", malformed),
    ]
}
