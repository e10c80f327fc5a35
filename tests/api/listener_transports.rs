//! MQTT over TLS and WebSocket listeners, and a connection flood against `max_connections`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::listeners::{connect_at, named, row, start_listener, v4_at};
use crate::mqtt_support::*;
use crate::support::TestNode;
use crate::tls::{client_config, Pki};

/// A 3.1.1 CONNECT with a clean session and a 60 s keep-alive.
fn connect_packet(id: &str) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
    body.extend_from_slice(&u16::try_from(id.len()).expect("short").to_be_bytes());
    body.extend_from_slice(id.as_bytes());
    packet(0x10, &body)
}

/// SUBSCRIBE (packet id 1) to `topic` at QoS 0.
fn subscribe_packet(topic: &str) -> Vec<u8> {
    let mut body = vec![0, 1];
    body.extend_from_slice(&u16::try_from(topic.len()).expect("short").to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.push(0);
    packet(0x82, &body)
}

/// A QoS 0 PUBLISH.
fn publish_packet(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = u16::try_from(topic.len())
        .expect("short")
        .to_be_bytes()
        .to_vec();
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(payload);
    packet(0x30, &body)
}

/// Fixed header with a one-byte remaining length (every packet here is short).
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first, u8::try_from(body.len()).expect("under 128 bytes")];
    bytes.extend_from_slice(body);
    bytes
}

const CONNACK_OK: [u8; 4] = [0x20, 2, 0, 0];

/// A WebSocket upgrade to `addr` offering `subprotocol` on `path`.
async fn ws_connect(
    addr: SocketAddr,
    path: &str,
    subprotocol: &str,
) -> Result<WebSocketStream<TcpStream>, tokio_tungstenite::tungstenite::Error> {
    let stream = TcpStream::connect(addr).await.expect("tcp connect");
    ws_handshake(stream, addr, path, subprotocol).await
}

/// The WebSocket upgrade on an open `stream` (plain or TLS).
async fn ws_handshake<S>(
    stream: S,
    addr: SocketAddr,
    path: &str,
    subprotocol: &str,
) -> Result<WebSocketStream<S>, tokio_tungstenite::tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(subprotocol).expect("header"),
    );
    let (ws, response) = tokio_tungstenite::client_async(request, stream).await?;
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.as_bytes()),
        Some(subprotocol.as_bytes())
    );
    Ok(ws)
}

/// Reads binary messages until `expected` bytes arrived (they may be split or joined).
async fn ws_expect<S>(ws: &mut WebSocketStream<S>, expected: &[u8])
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut got = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        while got.len() < expected.len() {
            match ws.next().await {
                Some(Ok(Message::Binary(data))) => got.extend_from_slice(&data),
                Some(Ok(_)) => {}
                other => panic!("WebSocket ended: {other:?}; got {got:?}"),
            }
        }
    });
    read.await.expect("bytes within the deadline");
    assert_eq!(got, expected);
}

#[tokio::test]
async fn mqtt_over_websocket_subscribes_and_receives_from_tcp_clients() {
    let node = TestNode::start().await;
    let addr = start_listener(&node, "&--websocket").await;
    assert_eq!(
        row(&node, addr.port()).await.expect("row")["type"],
        "mqttws"
    );
    for subprotocol in ["mqtt", "mqttv3.1"] {
        let mut ws = ws_connect(addr, "/mqtt", subprotocol)
            .await
            .expect("upgrade");
        ws.send(Message::binary(connect_packet(subprotocol)))
            .await
            .expect("send");
        ws_expect(&mut ws, &CONNACK_OK).await;
        ws.send(Message::binary(subscribe_packet("ws/t")))
            .await
            .expect("send");
        ws_expect(&mut ws, &[0x90, 3, 0, 1, 0]).await;
        let publisher = connect_v4(&node, &format!("tcp-{subprotocol}")).await;
        publish_v4(&publisher, "ws/t", "hello").await;
        ws_expect(&mut ws, &publish_packet("ws/t", b"hello")).await;
        ws.send(Message::binary(publish_packet("ws/t", b"self")))
            .await
            .expect("send");
        ws_expect(&mut ws, &publish_packet("ws/t", b"self")).await;
    }
    // Text frames are not MQTT: the connection is closed.
    let mut ws = ws_connect(addr, "/mqtt", "mqtt").await.expect("upgrade");
    ws.send(Message::text("CONNECT")).await.expect("send");
    let closed = tokio::time::timeout(DEADLINE, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    });
    assert!(closed.await.is_ok(), "a text frame closes the connection");
    // Wrong path or subprotocol: no upgrade.
    assert!(ws_connect(addr, "/", "mqtt").await.is_err());
    assert!(ws_connect(addr, "/mqtt", "chat").await.is_err());
    node.stop().await;
}

#[tokio::test]
async fn mqtt_over_secure_websocket_started_at_run_time() {
    let pki = Pki::new();
    let node = TestNode::start().await;
    let args = format!(
        "&--ssl&--websocket&--certfile={}&--keyfile={}&--tls_version=tlsv1.3",
        pki.path("server.pem").display(),
        pki.path("server.key").display()
    );
    let addr = start_listener(&node, &args).await;
    let wss_row = row(&node, addr.port()).await.expect("row");
    assert_eq!(
        (wss_row["type"].as_str(), wss_row["tls_version"].as_str()),
        (Some("mqttwss"), Some("tlsv1.3"))
    );
    let connector = TlsConnector::from(Arc::new(client_config(&pki, &[b"http/1.1"], None)));
    let tcp = TcpStream::connect(addr).await.expect("tcp connect");
    let name = ServerName::try_from("localhost".to_owned()).expect("server name");
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let mut ws = ws_handshake(tls, addr, "/mqtt", "mqtt")
        .await
        .expect("upgrade");
    ws.send(Message::binary(connect_packet("wss")))
        .await
        .expect("send");
    ws_expect(&mut ws, &CONNACK_OK).await;
    node.stop().await;
}

/// The config of an `ssl` listener with `pki`'s server certificate.
fn ssl_config(pki: &Pki, extra: &str) -> String {
    format!(
        "listener.tcp.default = 127.0.0.1:0\nlistener.ssl.secure = 127.0.0.1:0\n\
         listener.ssl.certfile = {}\nlistener.ssl.keyfile = {}\n{extra}",
        pki.path("server.pem").display(),
        pki.path("server.key").display()
    )
}

/// v4 options for a TLS client of `addr` trusting `pki`'s CA, presenting `client` if given.
fn tls_options(
    pki: &Pki,
    addr: SocketAddr,
    id: &str,
    client: Option<&str>,
) -> rumqttc::MqttOptions {
    let mut options = rumqttc::MqttOptions::new(id, "localhost", addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    let config = client_config(pki, &[], client);
    options.set_transport(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(Arc::new(config)),
    ));
    options
}

#[tokio::test]
async fn mqtt_over_tls_from_config_and_started_at_run_time() {
    let pki = Pki::new();
    let node = TestNode::start_with(&ssl_config(&pki, "")).await;
    let secure = named(&node, "secure");
    let mut client = spawn_v4(tls_options(&pki, secure, "tls-1", None));
    wait_for(&mut client.events, "CONNACK over TLS", v4_accepted).await;
    assert_round_trip(&mut client, "tls/1").await;
    let tls_row = row(&node, secure.port()).await.expect("row");
    assert_eq!(tls_row["type"], "mqtts");
    assert_eq!(tls_row["tls_version"], "tlsv1.2, tlsv1.3");
    assert_eq!(
        tls_row["certfile"],
        pki.path("server.pem").display().to_string()
    );
    // Plain MQTT on the TLS port gets nowhere.
    let mut plain = spawn_v4(v4_at(secure, "plain"));
    wait_for(&mut plain.events, "a failure", Result::is_err).await;

    // At run time, requiring a client certificate.
    let args = format!(
        "&--ssl&--cafile={}&--require_certificate",
        pki.path("ca.pem").display()
    );
    let strict = start_listener(&node, &args).await;
    assert_eq!(
        row(&node, strict.port()).await.expect("row")["require_certificate"],
        true
    );
    let mut with_cert = spawn_v4(tls_options(&pki, strict, "tls-2", Some("client")));
    wait_for(
        &mut with_cert.events,
        "CONNACK with a client cert",
        v4_accepted,
    )
    .await;
    let mut without = spawn_v4(tls_options(&pki, strict, "tls-3", None));
    wait_for(
        &mut without.events,
        "a refusal without a cert",
        Result::is_err,
    )
    .await;
    let mut stranger = spawn_v4(tls_options(&pki, strict, "tls-4", Some("stranger")));
    wait_for(
        &mut stranger.events,
        "a refusal of an unknown CA",
        Result::is_err,
    )
    .await;
    drop((client, with_cert));
    node.stop().await;
}

#[tokio::test]
async fn a_silent_tls_client_is_cut_at_the_handshake_timeout() {
    let pki = Pki::new();
    let config = ssl_config(&pki, "listener.ssl.secure.tls_handshake_timeout = 200\n");
    let node = TestNode::start_with(&config).await;
    let mut stream = TcpStream::connect(named(&node, "secure"))
        .await
        .expect("connect");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(DEADLINE, stream.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "closed: {read:?}");
    node.stop().await;
}

/// CONNECT on a raw connection: `true` if a CONNACK came, `false` if the server closed first.
async fn try_connect(addr: SocketAddr, id: &str) -> (bool, Option<TcpStream>) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return (false, None);
    };
    if stream.write_all(&connect_packet(id)).await.is_err() {
        return (false, None);
    }
    let mut answer = [0u8; 4];
    let read = tokio::time::timeout(DEADLINE, stream.read_exact(&mut answer)).await;
    match read {
        Ok(Ok(_)) if answer == CONNACK_OK => (true, Some(stream)),
        Ok(_) => (false, None),
        Err(_) => panic!("{id}: neither a CONNACK nor a close within {DEADLINE:?}"),
    }
}

#[tokio::test]
async fn a_connection_flood_is_refused_cleanly_and_counted_while_clients_keep_service() {
    let node = TestNode::start_with(
        "listener.tcp.default = 127.0.0.1:0\nlistener.tcp.default.max_connections = 50\n",
    )
    .await;
    let addr = named(&node, "default");
    let mut subscriber = connect_at(addr, "subscriber").await;
    subscribe_v4(&mut subscriber, &["flood/t"]).await;
    let mut held = Vec::new();
    for i in 0..49 {
        let (accepted, stream) = try_connect(addr, &format!("held-{i}")).await;
        assert!(accepted, "held-{i} fits under the limit");
        held.extend(stream);
    }
    const FLOOD: usize = 2000;
    let mut attempts = JoinSet::new();
    for i in 0..FLOOD {
        attempts.spawn(async move { try_connect(addr, &format!("flood-{i}")).await.0 });
        if attempts.len() >= 200 {
            assert_eq!(
                attempts.join_next().await.map(|r| r.expect("task")),
                Some(false)
            );
        }
    }
    while let Some(accepted) = attempts.join_next().await {
        assert!(!accepted.expect("task"), "a flood connection got in");
    }
    let row = row(&node, addr.port()).await.expect("row");
    assert_eq!(row["active_conns"].as_i64(), Some(50));
    assert_eq!(row["all_conns"].as_i64(), Some(50 + 2000));
    let refused: u64 = node
        .running()
        .node()
        .listeners
        .entries()
        .iter()
        .map(|e| e.info.counts.refused())
        .sum();
    assert_eq!(refused, 2000);
    let publisher = held.first_mut().expect("a held connection");
    publisher
        .write_all(&publish_packet("flood/t", b"still here"))
        .await
        .expect("publish");
    wait_for(&mut subscriber.events, "the message after the flood", |e| {
        v4_publish(e).is_some_and(|p| p.payload.as_ref() == b"still here")
    })
    .await;
    drop(held);
    node.stop().await;
}
