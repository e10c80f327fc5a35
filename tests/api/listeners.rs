//! MQTT listeners: per-listener options (mountpoint, protocol levels, anonymous override,
//! max_connections) and `listener start|stop|restart|delete` with real clients.

use std::net::SocketAddr;

use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as V5Code;
use rumqttc::{ConnectReturnCode, ConnectionError};
use serde_json::Value;

use crate::mqtt_support::*;
use crate::support::{assert_alert, assert_ok, eventually, TestNode, DONE};

/// The rows of `listener show --mqtt --tls`.
pub async fn rows(node: &TestNode) -> Vec<Value> {
    let reply = node.get("/api/v1/listener/show?--mqtt&--tls").await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    reply.json()["table"].as_array().cloned().expect("a table")
}

/// The row of the listener on `port`.
pub async fn row(node: &TestNode, port: u16) -> Option<Value> {
    let port = port.to_string();
    rows(node).await.into_iter().find(|row| row["port"] == port)
}

/// `listener start` with `args` (a query string) on 127.0.0.1 port 0: the new listener's address.
pub async fn start_listener(node: &TestNode, args: &str) -> SocketAddr {
    let before: Vec<Value> = rows(node).await;
    let reply = node
        .get(&format!(
            "/api/v1/listener/start?address=127.0.0.1&port=0{args}"
        ))
        .await;
    assert_ok(&reply, DONE);
    let new = rows(node)
        .await
        .into_iter()
        .find(|row| !before.iter().any(|old| old["port"] == row["port"]))
        .expect("a new listener row");
    let port: u16 = new["port"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("port");
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The address of the configured MQTT listener `name`.
pub fn named(node: &TestNode, name: &str) -> SocketAddr {
    let addrs = node.running().mqtt_addrs();
    let found = addrs.iter().find(|(n, _)| n == name);
    found
        .map(|(_, addr)| *addr)
        .expect("a listener of that name")
}

/// v4 options for `id` on `addr`.
pub fn v4_at(addr: SocketAddr, id: &str) -> rumqttc::MqttOptions {
    let mut options = rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_keep_alive(std::time::Duration::from_secs(30));
    options
}

/// A v4 client connected to `addr`.
pub async fn connect_at(addr: SocketAddr, id: &str) -> V4Client {
    let mut client = spawn_v4(v4_at(addr, id));
    wait_for(&mut client.events, "v4 CONNACK", v4_accepted).await;
    client
}

/// The first error of a v4 client on `addr` that must not get in.
pub async fn refused_at(addr: SocketAddr, id: &str) -> ConnectionError {
    let mut client = spawn_v4(v4_at(addr, id));
    match next_event(&mut client.events, "a refusal", Result::is_err).await {
        Err(error) => error,
        Ok(event) => panic!("not an error: {event:?}"),
    }
}

const OPTIONS_CONFIG: &str = "allow_anonymous = off
listener.tcp.default = 127.0.0.1:0
listener.tcp.open = 127.0.0.1:0
listener.tcp.open.allow_anonymous_override = on
listener.tcp.open.mountpoint = tenant/
listener.tcp.v5only = 127.0.0.1:0
listener.tcp.v5only.allowed_protocol_versions = 5
listener.tcp.v5only.allow_anonymous_override = on
";

#[tokio::test]
async fn per_listener_options_reach_the_sessions_and_listener_show() {
    let node = TestNode::start_with(OPTIONS_CONFIG).await;
    let (default, open, v5only) = (
        named(&node, "default"),
        named(&node, "open"),
        named(&node, "v5only"),
    );
    // allow_anonymous_override on one listener while the global setting is off.
    let open_client = connect_at(open, "anon-open").await;
    let error = refused_at(default, "anon-default").await;
    assert!(
        matches!(
            error,
            ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized)
        ),
        "{error:?}"
    );
    // allowed_protocol_versions = 5: a 3.1.1 client gets CONNACK 0x01, a v5 client gets in.
    let error = refused_at(v5only, "v4-on-v5only").await;
    assert!(
        matches!(
            error,
            ConnectionError::ConnectionRefused(ConnectReturnCode::RefusedProtocolVersion)
        ),
        "{error:?}"
    );
    let mut options = rumqttc::v5::MqttOptions::new("v5", "127.0.0.1", v5only.port());
    options.set_keep_alive(std::time::Duration::from_secs(30));
    let mut v5 = spawn_v5(options);
    let event = next_event(&mut v5.events, "v5 CONNACK", |e| {
        v5_accepted(e) || e.is_err()
    })
    .await;
    assert!(v5_accepted(&event), "{event:?}");

    let open_row = row(&node, open.port()).await.expect("open row");
    assert_eq!(open_row["type"], "mqtt");
    assert_eq!(open_row["mountpoint"], "tenant/");
    assert_eq!(open_row["allow_anonymous_override"], true);
    assert_eq!(
        open_row["allowed_protocol_versions"],
        "mqtt 3.1, mqtt 3.1.1, mqtt 5"
    );
    assert_eq!(open_row["max_conns"], "infinity");
    let v5_row = row(&node, v5only.port()).await.expect("v5only row");
    assert_eq!(v5_row["allowed_protocol_versions"], "mqtt 5");
    let default_row = row(&node, default.port()).await.expect("default row");
    assert_eq!(default_row["allow_anonymous_override"], false);
    drop((open_client, v5));
    node.stop().await;
}

#[tokio::test]
async fn max_connections_refuses_the_extra_client_and_serves_the_others() {
    let node = TestNode::start_with(
        "listener.tcp.default = 127.0.0.1:0\nlistener.tcp.default.max_connections = 3\n",
    )
    .await;
    let addr = named(&node, "default");
    let mut clients = Vec::new();
    for i in 0..3 {
        clients.push(connect_at(addr, &format!("in-{i}")).await);
    }
    let error = refused_at(addr, "fourth").await;
    assert!(
        !matches!(error, ConnectionError::ConnectionRefused(_)),
        "closed, no CONNACK: {error:?}"
    );
    for (i, client) in clients.iter_mut().enumerate() {
        assert_round_trip(client, &format!("still/{i}")).await;
    }
    let row = row(&node, addr.port()).await.expect("row");
    assert_eq!(
        (row["max_conns"].as_i64(), row["active_conns"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(row["all_conns"].as_i64(), Some(4), "the refusal is counted");
    let refused: u64 = node
        .running()
        .node()
        .listeners
        .entries()
        .iter()
        .map(|e| e.info.counts.refused())
        .sum();
    assert_eq!(refused, 1);
    drop(clients);
    node.stop().await;
}

#[tokio::test]
async fn stop_restart_kill_and_delete_a_listener_started_at_run_time() {
    let node = TestNode::start().await;
    let addr = start_listener(
        &node,
        "&--mountpoint=rt/&--max_connections=10&--allowed_protocol_versions=3,4",
    )
    .await;
    let fresh = row(&node, addr.port()).await.expect("row");
    assert_eq!(
        (fresh["status"].as_str(), fresh["mountpoint"].as_str()),
        (Some("running"), Some("rt/"))
    );
    assert_eq!(fresh["max_conns"].as_i64(), Some(10));
    assert_eq!(fresh["allowed_protocol_versions"], "mqtt 3.1, mqtt 3.1.1");
    let mut kept = connect_at(addr, "kept").await;
    let target = format!("address=127.0.0.1&port={}", addr.port());

    // stop: suspended, the socket is closed, the session stays.
    assert_ok(
        &node.get(&format!("/api/v1/listener/stop?{target}")).await,
        DONE,
    );
    assert_eq!(
        row(&node, addr.port()).await.expect("row")["status"],
        "suspended"
    );
    let error = refused_at(addr, "late").await;
    assert!(matches!(error, ConnectionError::Io(_)), "{error:?}");
    assert_round_trip(&mut kept, "kept/1").await;
    let health = node.get_anonymous("/health/listeners").await;
    assert_eq!(health.status.as_u16(), 503, "{health:?}");
    assert_eq!(
        health.json()["reasons"][0],
        "Listeners are not ready: [mqtt]"
    );

    // restart: accepting again.
    assert_ok(
        &node
            .get(&format!("/api/v1/listener/restart?{target}"))
            .await,
        DONE,
    );
    let again = connect_at(addr, "again").await;
    assert_eq!(
        node.get_anonymous("/health/listeners")
            .await
            .status
            .as_u16(),
        200
    );

    // stop --kill_sessions: the connections close too.
    assert_ok(
        &node
            .get(&format!("/api/v1/listener/stop?{target}&--kill_sessions"))
            .await,
        DONE,
    );
    wait_for(&mut kept.events, "the kill", Result::is_err).await;
    assert_eq!(
        row(&node, addr.port()).await.expect("row")["status"],
        "stopped"
    );
    let all_closed = eventually(DEADLINE, || async {
        row(&node, addr.port()).await.expect("row")["active_conns"].as_i64() == Some(0)
    });
    assert!(all_closed.await, "active_conns drops to 0");
    assert_ok(
        &node
            .get(&format!("/api/v1/listener/restart?{target}"))
            .await,
        DONE,
    );
    let third = connect_at(addr, "third").await;

    // delete: closed and gone.
    assert_ok(
        &node.get(&format!("/api/v1/listener/delete?{target}")).await,
        DONE,
    );
    assert!(row(&node, addr.port()).await.is_none(), "the row is gone");
    refused_at(addr, "after-delete").await;
    drop((again, third));
    node.stop().await;
}

#[tokio::test]
async fn bad_listener_commands_are_4xx_alerts() {
    let node = TestNode::start().await;
    let http_port = node.addr.port();
    let unknown = node
        .get("/api/v1/listener/stop?address=127.0.0.1&port=1")
        .await;
    assert_alert(
        &unknown,
        404,
        &["can't stop listener due to 'no listener on 127.0.0.1:1; see listener show'"],
    );
    let restart = node
        .get("/api/v1/listener/restart?address=127.0.0.1&port=1")
        .await;
    assert_eq!(restart.status.as_u16(), 404, "{restart:?}");
    let delete = node
        .get("/api/v1/listener/delete?address=127.0.0.1&port=1")
        .await;
    assert_eq!(delete.status.as_u16(), 404, "{delete:?}");
    let http = node
        .get(&format!(
            "/api/v1/listener/stop?address=127.0.0.1&port={http_port}"
        ))
        .await;
    assert_eq!(http.status.as_u16(), 400, "an HTTP listener: {http:?}");
    let taken = node
        .get(&format!(
            "/api/v1/listener/start?address=127.0.0.1&port={http_port}"
        ))
        .await;
    assert_eq!(taken.status.as_u16(), 409, "{taken:?}");
    assert!(
        taken
            .body
            .contains("can't start listener due to 'cannot bind"),
        "{taken:?}"
    );
    let cases = [
        ("listener/stop?address=127.0.0.1&port=abc", "invalid port 'abc'"),
        ("listener/stop?address=127.0.0.1&port=70000", "invalid port '70000'"),
        ("listener/stop?address=nowhere&port=1", "invalid address 'nowhere'"),
        ("listener/start?address=127.0.0.1", "missing parameter port=<value>"),
        ("listener/restart?port=1", "missing parameter address=<value>"),
        (
            "listener/start?address=127.0.0.1&port=0&--ssl&--certfile=/nonexistent.pem&--keyfile=/nonexistent.pem",
            "invalid --certfile '/nonexistent.pem': no such file",
        ),
        ("listener/start?address=127.0.0.1&port=0&--ssl", "needs --certfile"),
        ("listener/start?address=127.0.0.1&port=0&--certfile=/x", "TLS flags need --ssl"),
        ("listener/start?address=127.0.0.1&port=0&--max_connections=many", "invalid --max_connections"),
        ("listener/start?address=127.0.0.1&port=0&--allowed_protocol_versions=7", "protocol levels"),
        ("listener/start?address=127.0.0.1&port=0&--websocket=maybe", "invalid --websocket"),
        ("listener/stop?address=127.0.0.1&port=1&--bogus", "unknown flag '--bogus'"),
    ];
    for (path, needle) in cases {
        let reply = node.get(&format!("/api/v1/{path}")).await;
        assert_eq!(reply.status.as_u16(), 400, "{path}: {reply:?}");
        assert!(reply.body.contains(needle), "{path}: {}", reply.body);
    }
    assert_eq!(rows(&node).await.len(), 2, "nothing was started");
    node.stop().await;
}

#[tokio::test]
async fn v5_clients_are_refused_with_the_v5_code_where_only_3_1_1_is_allowed() {
    let node = TestNode::start().await;
    let addr = start_listener(&node, "&--allowed_protocol_versions=4").await;
    let mut options = rumqttc::v5::MqttOptions::new("v5", "127.0.0.1", addr.port());
    options.set_keep_alive(std::time::Duration::from_secs(30));
    let mut v5 = spawn_v5(options);
    let refused = next_event(&mut v5.events, "v5 refusal", Result::is_err).await;
    assert!(
        matches!(
            refused,
            Err(rumqttc::v5::ConnectionError::ConnectionRefused(
                V5Code::UnsupportedProtocolVersion
            ))
        ),
        "{refused:?}"
    );
    connect_at(addr, "v4-ok").await;
    node.stop().await;
}
