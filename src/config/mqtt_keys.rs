//! The broker behaviour keys of VerneMQ's `set` whitelist (vmq_server and the file-based auth
//! plugins), all settable at runtime, with VerneMQ's types and defaults; and the boot-time
//! `plugins.<name>` switches of the built-in plugins (`plugin enable|disable` at run time).
//!
//! Deliberate difference: `allow_anonymous` defaults to `on`, which is safe only because every
//! default listener is loopback (admin-api.md §9). Webhooks and diversity keys are left out:
//! those plugins do not exist here.

use crate::config::keys::{at_least, between, fixed, settable};
use crate::config::schema::KeySpec;
use crate::config::value::ValueKind::{self, Enum, Flag, Path, Text};

/// In VerneMQ's documentation order.
pub static MQTT_KEYS: &[KeySpec] = &[
    settable(
        "allow_anonymous",
        Flag,
        Some("on"),
        "Allow MQTT clients to connect without credentials (safe only on loopback listeners).",
    ),
    settable(
        "allow_register_during_netsplit",
        Flag,
        Some("off"),
        "Allow new client connections while the cluster is inconsistent.",
    ),
    settable(
        "allow_publish_during_netsplit",
        Flag,
        Some("off"),
        "Allow publishes while the cluster is inconsistent.",
    ),
    settable(
        "allow_subscribe_during_netsplit",
        Flag,
        Some("off"),
        "Allow new subscriptions while the cluster is inconsistent.",
    ),
    settable(
        "allow_unsubscribe_during_netsplit",
        Flag,
        Some("off"),
        "Allow unsubscribes while the cluster is inconsistent.",
    ),
    settable(
        "queue_type",
        Enum(&["fifo", "lifo"]),
        Some("fifo"),
        "Order in which a session's queue delivers messages.",
    ),
    settable(
        "retry_interval",
        at_least(1),
        Some("20"),
        "Seconds before an unacknowledged QoS 1 or 2 message is sent again.",
    ),
    settable(
        "max_client_id_size",
        between(1, 65_535),
        Some("100"),
        "Maximum length of a client id.",
    ),
    settable(
        "max_subscriptions_per_client",
        at_least(0),
        Some("0"),
        "Maximum number of subscriptions per client; 0 means no limit.",
    ),
    settable(
        "persistent_client_expiration",
        ValueKind::KeywordOrDuration {
            keyword: "never",
            units: "hdwmy",
        },
        Some("never"),
        "Remove persistent sessions offline this long (e.g. 1w); never keeps them forever.",
    ),
    settable(
        "max_inflight_messages",
        between(0, 65_535),
        Some("20"),
        "Maximum number of QoS 1 and 2 messages in flight per session; 0 means no limit.",
    ),
    settable(
        "max_online_messages",
        at_least(-1),
        Some("1000"),
        "Maximum number of messages queued for an online session; -1 means no limit.",
    ),
    settable(
        "max_offline_messages",
        at_least(-1),
        Some("1000"),
        "Maximum number of QoS 1 and 2 messages kept for an offline session; -1 means no limit.",
    ),
    settable(
        "override_max_online_messages",
        Flag,
        Some("off"),
        "On reconnect, move all offline messages to the online queue, beyond max_online_messages.",
    ),
    settable(
        "max_message_rate",
        at_least(0),
        Some("0"),
        "Maximum publishes per second per session; 0 means no limit.",
    ),
    settable(
        "max_message_size",
        between(0, 268_435_455),
        Some("0"),
        "Maximum MQTT publish payload size in bytes; 0 means the protocol maximum.",
    ),
    settable(
        "upgrade_outgoing_qos",
        Flag,
        Some("off"),
        "Deliver with the subscription's QoS even if the message was published with a lower one.",
    ),
    settable(
        "systree_enabled",
        Flag,
        Some("on"),
        "Publish broker statistics under $SYS.",
    ),
    settable(
        "systree_interval",
        at_least(0),
        Some("20000"),
        "Milliseconds between $SYS updates; 0 disables them.",
    ),
    settable(
        "graphite_enabled",
        Flag,
        Some("off"),
        "Push metrics to a Graphite server.",
    ),
    settable(
        "graphite_host",
        Text,
        Some("localhost"),
        "Host name of the Graphite server.",
    ),
    settable(
        "graphite_port",
        between(1, 65_535),
        Some("2003"),
        "TCP port of the Graphite server.",
    ),
    settable(
        "graphite_interval",
        at_least(1),
        Some("20000"),
        "Milliseconds between pushes to Graphite.",
    ),
    settable(
        "graphite_include_labels",
        Flag,
        Some("off"),
        "Also push metrics derived from labelled metrics to Graphite.",
    ),
    settable(
        "shared_subscription_policy",
        Enum(&[
            "prefer_local",
            "local_only",
            "random",
            "prefer_online_before_local",
        ]),
        Some("prefer_local"),
        "How a message on a shared subscription picks its subscriber.",
    ),
    settable(
        "remote_enqueue_timeout",
        ValueKind::IntegerOrInfinity { min: 1 },
        Some("5000"),
        "Milliseconds to wait when enqueueing a message on another node's queue.",
    ),
    settable(
        "topic_alias_max_client",
        between(0, 65_535),
        Some("0"),
        "Topic aliases a client may use towards the broker (MQTT 5); 0 disables them.",
    ),
    settable(
        "topic_alias_max_broker",
        between(0, 65_535),
        Some("0"),
        "Topic aliases the broker may use towards a client (MQTT 5); 0 disables them.",
    ),
    settable(
        "max_last_will_delay",
        ValueKind::KeywordOrDuration {
            keyword: "client",
            units: "shdwmy",
        },
        Some("client"),
        "Cap on the will delay of MQTT 5 clients (e.g. 1h); client uses the client's value.",
    ),
    settable(
        "receive_max_client",
        between(1, 65_535),
        Some("65535"),
        "Most unacknowledged publishes the broker sends to an MQTT 5 client.",
    ),
    settable(
        "receive_max_broker",
        between(1, 65_535),
        Some("65535"),
        "Most unacknowledged publishes the broker accepts from an MQTT 5 client.",
    ),
    settable(
        "suppress_lwt_on_session_takeover",
        Flag,
        Some("off"),
        "Skip the last will when a new connection takes over an existing session.",
    ),
    settable(
        "coordinate_registrations",
        Flag,
        Some("on"),
        "Disconnect another client with the same id at once (on) or eventually (off).",
    ),
    settable(
        "mqtt_connect_timeout",
        at_least(1),
        Some("5000"),
        "Milliseconds a new connection gets to send its CONNECT packet.",
    ),
    settable(
        "cluster_ready_rpc_timeout",
        at_least(1),
        Some("5000"),
        "Milliseconds to wait for a peer when checking that the cluster is ready.",
    ),
    settable(
        "disconnect_on_unauthorized_publish_v3",
        Flag,
        Some("off"),
        "Disconnect MQTT 3 clients whose publish is not authorized, instead of dropping it.",
    ),
    settable(
        "subscriber_retain_mode",
        Text,
        None,
        "VerneMQ's retained-message mode for subscribers; kept for compatibility.",
    ),
    // VerneMQ's `set` whitelist (file-based auth plugins).
    settable(
        "vmq_acl.acl_file",
        Path,
        Some("./etc/vmq.acl"),
        "File of access control rules read by the vmq_acl plugin.",
    ),
    settable(
        "vmq_acl.acl_reload_interval",
        at_least(0),
        Some("10"),
        "Seconds between checks of the ACL file for changes; 0 disables reloading.",
    ),
    settable(
        "vmq_passwd.password_file",
        Path,
        Some("./etc/vmq.passwd"),
        "File of user names and password hashes read by the vmq_passwd plugin.",
    ),
    settable(
        "vmq_passwd.password_reload_interval",
        at_least(0),
        Some("10"),
        "Seconds between checks of the password file for changes; 0 disables reloading.",
    ),
    // The built-in plugins, enabled at start (VerneMQ's `plugins.<name>` switches).
    fixed(
        "plugins.vmq_passwd",
        Flag,
        Some("on"),
        "Start the vmq_passwd plugin: MQTT user names and passwords from vmq_passwd.password_file.",
    ),
    fixed(
        "plugins.vmq_acl",
        Flag,
        Some("on"),
        "Start the vmq_acl plugin: topic access rules from vmq_acl.acl_file.",
    ),
];
