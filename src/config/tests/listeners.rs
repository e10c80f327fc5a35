//! HTTP(S) and MQTT listeners: default replacement, TLS files, per-listener auth modes.

use super::{config, error, path_text, PemFiles};
use crate::config::{AuthMode, HttpModule, HttpScheme, TlsFiles};

fn names(config: &crate::config::Config) -> Vec<(HttpScheme, String)> {
    let listeners = config.http_listeners().iter();
    listeners.map(|l| (l.scheme, l.name.clone())).collect()
}

#[test]
fn redeclaring_a_default_listener_replaces_its_address() {
    let config = config("listener.http.default = 0.0.0.0:8888\nlistener.tcp.default = [::]:1883\n");
    assert_eq!(config.http_listeners()[0].addr.to_string(), "0.0.0.0:8888");
    assert_eq!(config.get("listener.tcp.default"), Some("[::]:1883"));
    assert_eq!(config.mqtt_listeners().len(), 1);
}

#[test]
fn declaring_another_listener_of_a_kind_drops_that_kind_s_default() {
    let config =
        config("listener.http.admin = 127.0.0.1:9000\nlistener.tcp.internal = 127.0.0.1:10883\n");
    assert_eq!(names(&config), [(HttpScheme::Http, "admin".to_owned())]);
    assert_eq!(config.get("listener.http.default"), None);
    let mqtt: Vec<&str> = config
        .mqtt_listeners()
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(mqtt, ["internal"]);
}

#[test]
fn listeners_are_sorted_by_scheme_then_name() {
    let pem = PemFiles::new();
    let text = format!(
        "{}listener.http.zeta = 127.0.0.1:9002\nlistener.http.alpha = 127.0.0.1:9001\n",
        pem.https_listener("beta", "127.0.0.1:9443")
    );
    let config = config(&text);
    assert_eq!(
        names(&config),
        [
            (HttpScheme::Http, "alpha".to_owned()),
            (HttpScheme::Http, "zeta".to_owned()),
            (HttpScheme::Https, "beta".to_owned()),
        ]
    );
}

#[test]
fn https_listeners_carry_their_tls_files() {
    let pem = PemFiles::new();
    let text = format!(
        "{}listener.https.tls.cafile = {}\nlistener.https.tls.require_certificate = on\n",
        pem.https_listener("tls", "127.0.0.1:8889"),
        path_text(&pem.ca)
    );
    let config = config(&text);
    let https = config
        .http_listeners()
        .iter()
        .find(|l| l.scheme == HttpScheme::Https);
    let tls = https.and_then(|l| l.tls.clone());
    assert_eq!(
        tls,
        Some(TlsFiles {
            certfile: pem.cert.clone(),
            keyfile: pem.key.clone(),
            cafile: Some(pem.ca.clone()),
            require_certificate: true,
        })
    );
    // An HTTPS listener does not replace the plain HTTP default: they are different kinds.
    assert_eq!(config.http_listeners().len(), 2);
}

#[test]
fn require_certificate_defaults_to_off_per_listener() {
    let pem = PemFiles::new();
    let config = config(&pem.https_listener("tls", "127.0.0.1:8889"));
    assert_eq!(
        config.get("listener.https.tls.require_certificate"),
        Some("off")
    );
}

#[test]
fn https_without_certfile_or_keyfile_is_an_error_naming_the_key() {
    let pem = PemFiles::new();
    let only_key = format!(
        "listener.https.tls = 127.0.0.1:8889\nlistener.https.tls.keyfile = {}\n",
        path_text(&pem.key)
    );
    let error = error(&only_key);
    assert_eq!(
        (error.key.as_deref(), error.line),
        (Some("listener.https.tls"), Some(1))
    );
    assert!(
        error.message.contains("listener.https.tls.certfile"),
        "{error}"
    );
    let only_cert = format!(
        "listener.https.tls = 127.0.0.1:8889\nlistener.https.tls.certfile = {}\n",
        path_text(&pem.cert)
    );
    assert!(super::error(&only_cert)
        .message
        .contains("listener.https.tls.keyfile"));
}

#[test]
fn missing_tls_files_are_errors_naming_the_key() {
    let pem = PemFiles::new();
    let text = format!(
        "{}listener.https.tls.cafile = /nonexistent/ca.pem\n",
        pem.https_listener("tls", "127.0.0.1:8889")
    );
    let error = error(&text);
    assert_eq!(
        (error.key.as_deref(), error.line),
        (Some("listener.https.tls.cafile"), Some(4))
    );
    assert_eq!(
        error.message,
        "'/nonexistent/ca.pem' does not exist or is not a file"
    );
    let text = "listener.https.tls = 127.0.0.1:8889\nlistener.https.tls.certfile = /nope.pem\n\
                listener.https.tls.keyfile = /nope.pem\n";
    assert_eq!(
        super::error(text).key.as_deref(),
        Some("listener.https.tls.certfile")
    );
}

#[test]
fn require_certificate_needs_a_cafile() {
    let pem = PemFiles::new();
    let text = format!(
        "{}listener.https.tls.require_certificate = on\n",
        pem.https_listener("tls", "127.0.0.1:8889")
    );
    let error = error(&text);
    assert_eq!(
        error.key.as_deref(),
        Some("listener.https.tls.require_certificate")
    );
}

#[test]
fn keys_of_undeclared_listeners_are_errors() {
    let pem = PemFiles::new();
    let text = format!("listener.https.ghost.certfile = {}\n", path_text(&pem.cert));
    let error = error(&text);
    assert_eq!(error.key.as_deref(), Some("listener.https.ghost.certfile"));
    assert!(error
        .message
        .contains("listener listener.https.ghost is not declared"));
    let text = "listener.http.ghost.http_module.vmq_status_http.auth.mode = apikey\n";
    assert_eq!(super::error(text).line, Some(1));
}

#[test]
fn listener_auth_modes_win_over_global_ones() {
    let pem = PemFiles::new();
    let text = format!(
        "http_module.vmq_metrics_http.auth.mode = apikey\n\
         http_module.vmq_http_mgmt_api.auth.mode = noauth\n\
         listener.http.default = 127.0.0.1:8888\n\
         listener.http.default.http_module.vmq_http_mgmt_api.auth.mode = apikey\n\
         {}listener.https.tls.http_module.vmq_metrics_http.auth.mode = noauth\n",
        pem.https_listener("tls", "127.0.0.1:8889")
    );
    let config = config(&text);
    let [http, https] = config.http_listeners() else {
        panic!("expected two listeners");
    };
    assert_eq!(
        config.auth_mode(http, HttpModule::MgmtApi),
        AuthMode::ApiKey
    );
    assert_eq!(
        config.auth_mode(https, HttpModule::MgmtApi),
        AuthMode::NoAuth
    );
    assert_eq!(
        config.auth_mode(http, HttpModule::Metrics),
        AuthMode::ApiKey
    );
    assert_eq!(
        config.auth_mode(https, HttpModule::Metrics),
        AuthMode::NoAuth
    );
    assert_eq!(config.auth_mode(https, HttpModule::V2Api), AuthMode::ApiKey);
    assert_eq!(config.auth_mode(http, HttpModule::Status), AuthMode::NoAuth);
}

#[test]
fn ipv6_and_port_zero_listeners() {
    let config = config("listener.http.default = [::1]:0\n");
    assert_eq!(config.http_listeners()[0].addr.to_string(), "[::1]:0");
}

#[test]
fn overrides_may_target_the_implicit_default_listener() {
    let config = config("listener.http.default.http_module.vmq_metrics_http.auth.mode = apikey\n");
    let [http] = config.http_listeners() else {
        panic!("expected the default listener");
    };
    assert_eq!(http.name, "default");
    assert_eq!(
        config.auth_mode(http, HttpModule::Metrics),
        AuthMode::ApiKey
    );
}

fn vmqs_lines(pem: &PemFiles) -> String {
    format!(
        "listener.vmqs.clustering = 127.0.0.1:44054\nlistener.vmqs.certfile = {}\n\
         listener.vmqs.keyfile = {}\nlistener.vmqs.cafile = {}\n",
        path_text(&pem.cert),
        path_text(&pem.key),
        path_text(&pem.ca)
    )
}

#[test]
fn the_tls_cluster_listener_replaces_the_plain_one() {
    let pem = PemFiles::new();
    let plain = config("");
    assert_eq!(plain.cluster_tls(), None);
    assert_eq!(plain.cluster_listener().to_string(), "127.0.0.1:44053");
    let tls = config(&format!(
        "{}listener.vmqs.tls_version = tlsv1.3\n",
        vmqs_lines(&pem)
    ));
    assert_eq!(tls.cluster_listener().to_string(), "127.0.0.1:44054");
    let settings = tls.cluster_tls().expect("declared");
    assert_eq!(settings.files.cafile.as_deref(), Some(pem.ca.as_path()));
    assert!(settings.files.require_certificate);
    assert_eq!(settings.versions.to_string(), "tlsv1.3");
}

#[test]
fn the_tls_cluster_listener_needs_its_three_files_and_they_need_it() {
    let pem = PemFiles::new();
    let lines = vmqs_lines(&pem);
    for attribute in ["certfile", "keyfile", "cafile"] {
        let text: String = lines
            .lines()
            .filter(|line| !line.contains(attribute))
            .map(|line| format!("{line}\n"))
            .collect();
        let refused = error(&text);
        assert_eq!(refused.key.as_deref(), Some("listener.vmqs.clustering"));
        assert!(
            refused
                .message
                .contains(&format!("listener.vmqs.{attribute}")),
            "{refused}"
        );
    }
    let missing = lines.replace(&path_text(&pem.ca), "/nope/ca.pem");
    let refused = error(&missing);
    assert_eq!(refused.key.as_deref(), Some("listener.vmqs.cafile"));
    assert!(refused.message.contains("does not exist"), "{refused}");
    let stray = format!("listener.vmqs.keyfile = {}\n", path_text(&pem.key));
    let refused = error(&stray);
    assert_eq!(refused.key.as_deref(), Some("listener.vmqs.keyfile"));
    assert!(
        refused
            .message
            .contains("listener.vmqs.clustering is not set"),
        "{refused}"
    );
    let refused = error(&format!("{lines}listener.vmqs.tls_version = sslv3\n"));
    assert_eq!(refused.key.as_deref(), Some("listener.vmqs.tls_version"));
}
