//! MQTT listeners: the four kinds, per-listener and per-kind options, TLS files, bad values.

use super::{config, error, path_text, PemFiles};
use crate::config::{MqttListener, MqttTransport, TlsVersions};

fn find<'c>(config: &'c crate::config::Config, name: &str) -> &'c MqttListener {
    config
        .mqtt_listeners()
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no listener {name}"))
}

#[test]
fn every_kind_is_declared_with_its_options() {
    let pem = PemFiles::new();
    let (cert, key) = (path_text(&pem.cert), path_text(&pem.key));
    let config = config(&format!(
        "listener.tcp.plain = 127.0.0.1:1883\n\
         listener.tcp.plain.mountpoint = tenant-a/\n\
         listener.tcp.plain.max_connections = 1000\n\
         listener.tcp.plain.allowed_protocol_versions = 5\n\
         listener.tcp.plain.allow_anonymous_override = on\n\
         listener.ws.web = 127.0.0.1:8080\n\
         listener.ssl.secure = 127.0.0.1:8883\n\
         listener.ssl.certfile = {cert}\n\
         listener.ssl.keyfile = {key}\n\
         listener.ssl.secure.tls_version = tlsv1.3\n\
         listener.wss.websecure = 127.0.0.1:8443\n\
         listener.wss.websecure.certfile = {cert}\n\
         listener.wss.websecure.keyfile = {key}\n"
    ));
    let kinds: Vec<(MqttTransport, &str)> = config
        .mqtt_listeners()
        .iter()
        .map(|l| (l.transport, l.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (MqttTransport::Tcp, "plain"),
            (MqttTransport::Ssl, "secure"),
            (MqttTransport::Ws, "web"),
            (MqttTransport::Wss, "websecure"),
        ]
    );
    let plain = &find(&config, "plain").options;
    assert_eq!(plain.mountpoint, "tenant-a/");
    assert_eq!(plain.max_connections, Some(1000));
    assert_eq!(plain.allowed_protocol_versions.levels(), [5]);
    assert!(plain.allow_anonymous_override && plain.tls.is_none());
    let secure = find(&config, "secure").options.tls.clone().expect("TLS");
    assert_eq!(
        secure.files.certfile, pem.cert,
        "inherited from listener.ssl"
    );
    assert_eq!(secure.versions.to_string(), "tlsv1.3");
    let websecure = find(&config, "websecure").options.tls.clone().expect("TLS");
    assert_eq!(websecure.versions, TlsVersions::BOTH);
    assert!(find(&config, "web").options.tls.is_none());
}

#[test]
fn kind_and_global_defaults_are_inherited_and_overridden() {
    let config = config(
        "listener.max_connections = 50\n\
         listener.tcp.a = 127.0.0.1:1883\n\
         listener.tcp.b = 127.0.0.1:1884\n\
         listener.tcp.b.max_connections = infinity\n\
         listener.tcp.mountpoint = shared/\n\
         listener.tcp.allowed_protocol_versions = 3,4\n",
    );
    let (a, b) = (&find(&config, "a").options, &find(&config, "b").options);
    assert_eq!((a.max_connections, b.max_connections), (Some(50), None));
    assert_eq!(
        (a.mountpoint.as_str(), b.mountpoint.as_str()),
        ("shared/", "shared/")
    );
    assert_eq!(a.allowed_protocol_versions.to_string(), "3,4");
    let defaults = config.mqtt_defaults(MqttTransport::Tcp);
    assert_eq!(defaults.max_connections, Some(50));
    assert_eq!(defaults.mountpoint, "shared/");
    let ws = config.mqtt_defaults(MqttTransport::Ws);
    assert_eq!((ws.mountpoint.as_str(), ws.max_connections), ("", Some(50)));
}

#[test]
fn bad_mqtt_listener_values_name_their_key() {
    let cases = [
        (
            "listener.tcp.default.allowed_protocol_versions = 3,6\n",
            "listener.tcp.default.allowed_protocol_versions",
        ),
        (
            "listener.tcp.default.max_connections = lots\n",
            "listener.tcp.default.max_connections",
        ),
        ("listener.ws.web = nowhere\n", "listener.ws.web"),
        ("listener.ssl.x = 127.0.0.1:8883\n", "listener.ssl.x"),
        (
            "listener.tcp.allow_anonymous_override = maybe\n",
            "listener.tcp.allow_anonymous_override",
        ),
        (
            "listener.ws.web.mountpoint = a\n",
            "listener.ws.web.mountpoint",
        ),
    ];
    for (text, key) in cases {
        let error = error(text);
        assert_eq!(error.key.as_deref(), Some(key), "{text}: {error}");
    }
}

#[test]
fn tls_listener_files_must_exist_and_a_required_certificate_needs_a_cafile() {
    let pem = PemFiles::new();
    let base = format!(
        "listener.ssl.x = 127.0.0.1:8883\nlistener.ssl.x.certfile = {}\nlistener.ssl.x.keyfile = {}\n",
        path_text(&pem.cert),
        path_text(&pem.key)
    );
    let missing = error(&format!("{base}listener.ssl.x.cafile = /nonexistent.pem\n"));
    assert_eq!(missing.key.as_deref(), Some("listener.ssl.x.cafile"));
    let no_ca = error(&format!("{base}listener.ssl.x.require_certificate = on\n"));
    assert_eq!(
        no_ca.key.as_deref(),
        Some("listener.ssl.x.require_certificate")
    );
    let no_key = error("listener.ssl.x = 127.0.0.1:8883\n");
    assert!(
        no_key.message.contains("listener.ssl.x.certfile"),
        "{no_key}"
    );
}
