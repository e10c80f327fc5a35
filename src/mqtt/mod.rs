//! The MQTT front end: what an MQTT listener does with a connection its task admitted (TLS
//! handshake, WebSocket upgrade, then an MQTT session with the listener's settings), and
//! starting a listener in the registry. The accept loop, `max_connections` and
//! stop/restart/delete live in vmq-actors' `listeners/`.

mod session_settings;
pub mod websocket;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use vmq_actors::{
    AllowedProtocols, AuthRules, ConnectPolicy, ConnectionSettings, Connector, ListenerError,
    ListenerInfo, ListenerStatus, MqttInfo, NewListener, SessionsHandle,
};

use vmq_actors::metrics::Counter;

use crate::config::{Config, MqttListener, MqttListenerOptions};
use crate::node::Node;
pub use session_settings::session_settings;

/// The TLS acceptor of an `ssl` or `wss` listener (`None` for the others); the error names
/// the file that is wrong.
pub fn tls_acceptor(listener: &MqttListener) -> Result<Option<TlsAcceptor>, String> {
    let Some(tls) = &listener.options.tls else {
        return Ok(None);
    };
    let alpn = if listener.transport.is_websocket() {
        crate::tls::WEBSOCKET_ALPN
    } else {
        &[]
    };
    crate::tls::acceptor(&tls.files, tls.versions, alpn).map(Some)
}

/// Starts `listener` on its bound `socket` in the registry; answers the bound address.
pub async fn start(
    node: &Node,
    listener: &MqttListener,
    socket: TcpListener,
    tls: Option<TlsAcceptor>,
) -> Result<SocketAddr, ListenerError> {
    let new = NewListener {
        socket,
        info: info(listener),
        connector: connector(node, listener, tls),
    };
    let (_, addr) = node.listeners.start_listener(new).await?;
    tracing::info!(listener = %listener.name, kind = listener.transport.show_type(), %addr, "MQTT listener bound");
    Ok(addr)
}

/// What `listener show` prints of `listener`.
fn info(listener: &MqttListener) -> ListenerInfo {
    let options = &listener.options;
    ListenerInfo {
        kind: listener.transport.show_type(),
        name: listener.name.clone(),
        addr: listener.addr,
        mountpoint: options.mountpoint.clone(),
        max_conns: options.max_connections,
        tls: options
            .tls
            .as_ref()
            .map(|tls| crate::tls::info(&tls.files, tls.versions)),
        mqtt: Some(MqttInfo {
            allowed_protocol_versions: options.allowed_protocol_versions.describe(),
            allow_anonymous_override: options.allow_anonymous_override,
        }),
        status: ListenerStatus::Running,
        counts: Arc::default(),
    }
}

/// The settings a new connection gets: the listener's own (mountpoint, protocol levels,
/// anonymous override) and the configuration in force when it is accepted (so that
/// `set allow_anonymous=off` applies to the next connection).
pub fn settings(
    config: &Config,
    options: &MqttListenerOptions,
    auth: Arc<AuthRules>,
) -> ConnectionSettings {
    ConnectionSettings {
        policy: ConnectPolicy {
            allow_anonymous: options.allow_anonymous_override || config.allow_anonymous(),
            allowed_protocols: AllowedProtocols::of(options.allowed_protocol_versions.levels()),
        },
        max_packet_size: config.max_message_size(),
        connect_timeout: config.mqtt_connect_timeout(),
        mountpoint: Arc::from(options.mountpoint.as_str()),
        session: session_settings(config),
        auth,
    }
}

/// What the listener's task runs for each connection it admits.
fn connector(node: &Node, listener: &MqttListener, tls: Option<TlsAcceptor>) -> Connector {
    let node = node.clone();
    let options = Arc::new(listener.options.clone());
    let websocket = listener.transport.is_websocket();
    let handshake_timeout = options.tls.as_ref().and_then(|tls| tls.handshake_timeout);
    Arc::new(move |stream, peer, stop| {
        let config = node.config();
        let connection = Connection {
            peer,
            settings: settings(&config, &options, node.plugins.rules()),
            sessions: node.sessions.clone(),
            stop,
            websocket,
        };
        // Each transport gets a future of its own size: a plain TCP session must not carry
        // the TLS and WebSocket states (an idle session's memory is mostly this future).
        match tls.clone() {
            None => connection.serve(stream),
            Some(acceptor) => Box::pin(connection.serve_tls(stream, acceptor, handshake_timeout)),
        }
    })
}

/// One admitted connection on its way to an MQTT session.
struct Connection {
    peer: SocketAddr,
    settings: ConnectionSettings,
    sessions: SessionsHandle,
    stop: watch::Receiver<bool>,
    websocket: bool,
}

impl Connection {
    async fn serve_tls(
        mut self,
        stream: TcpStream,
        acceptor: TlsAcceptor,
        timeout: Option<Duration>,
    ) {
        let peer = self.peer;
        match self.before_stop(timeout, acceptor.accept(stream)).await {
            Some(Ok(stream)) => self.serve(stream).await,
            Some(Err(error)) => {
                self.sessions.metrics().count_one(Counter::SocketError);
                tracing::debug!(%peer, %error, "TLS handshake failed");
            }
            None => tracing::debug!(%peer, "TLS handshake timed out or the listener stopped"),
        }
    }

    /// The session over `stream`, or over the WebSocket it upgrades to; boxed to its own size.
    fn serve<S>(self, stream: S) -> Pin<Box<dyn Future<Output = ()> + Send>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match self.websocket {
            true => Box::pin(self.serve_websocket(stream)),
            false => Box::pin(
                self.sessions
                    .serve(stream, self.peer, self.settings, self.stop),
            ),
        }
    }

    async fn serve_websocket<S>(mut self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let timeout = Some(self.settings.connect_timeout);
        match self.before_stop(timeout, websocket::accept(stream)).await {
            Some(Ok(ws)) => {
                self.sessions
                    .serve(ws, peer, self.settings, self.stop)
                    .await;
            }
            Some(Err(error)) => {
                self.sessions.metrics().count_one(Counter::SocketError);
                tracing::debug!(%peer, %error, "WebSocket upgrade failed");
            }
            None => tracing::debug!(%peer, "WebSocket upgrade timed out or the listener stopped"),
        }
    }

    /// `work`'s output, unless `timeout` (`None` = none) passes or the listener stops first.
    async fn before_stop<F: Future>(
        &mut self,
        timeout: Option<Duration>,
        work: F,
    ) -> Option<F::Output> {
        let deadline = async {
            match timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        let stop = &mut self.stop;
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        tokio::select! {
            output = work => Some(output),
            () = deadline => None,
            () = stopped => None,
        }
    }
}
