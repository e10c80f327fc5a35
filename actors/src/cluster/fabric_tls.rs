//! TLS on the fabric (`listener.vmqs.*`): our own accept loop runs every handshake in its own
//! task with a deadline (so a silent or foreign client cannot stall the listener, and a refused
//! one is logged with its address), then hands the verified stream to the node server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorCell, ActorStatus};
use ractor_cluster::{NetworkStream, NodeServerMessage};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::slot::ActorSlot;

/// How long a connecting peer has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the accept loop checks whether the node stopped.
const STOP_CHECK: Duration = Duration::from_secs(1);

/// Both sides of mutual TLS between nodes: every node presents its certificate and checks the
/// other's against the same CA.
#[derive(Clone)]
pub struct FabricTls {
    /// Accepts peers that present a certificate signed by the CA.
    pub acceptor: TlsAcceptor,
    /// Dials peers with this node's certificate, checking theirs against the CA.
    pub connector: TlsConnector,
}

impl std::fmt::Debug for FabricTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FabricTls")
    }
}

/// Called with the peer address of a connection refused before it authenticated.
pub(crate) type OnRefused = Arc<dyn Fn(String) + Send + Sync>;

/// Accepts on `listener` until `owner` (the supervisor) stops.
pub(crate) fn accept_loop(
    listener: std::net::TcpListener,
    server: ActorSlot<NodeServerMessage>,
    acceptor: TlsAcceptor,
    owner: ActorCell,
    on_refused: OnRefused,
) -> Result<(), String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        loop {
            if matches!(
                owner.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            ) {
                return;
            }
            let Ok(accepted) = tokio::time::timeout(STOP_CHECK, listener.accept()).await else {
                continue;
            };
            match accepted {
                Ok((stream, peer)) => {
                    let (server, acceptor) = (server.clone(), acceptor.clone());
                    let on_refused = Arc::clone(&on_refused);
                    tokio::spawn(handshake(stream, peer, server, acceptor, on_refused));
                }
                Err(error) => tracing::warn!(%error, "cluster listener: accept failed"),
            }
        }
    });
    Ok(())
}

async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    server: ActorSlot<NodeServerMessage>,
    acceptor: TlsAcceptor,
    on_refused: OnRefused,
) {
    let refused = |why: String| {
        tracing::warn!(
            addr = %peer,
            "cluster connection refused: TLS handshake failed ({why}); a node needs a certificate \
             signed by listener.vmqs.cafile"
        );
        on_refused(peer.to_string());
    };
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => {
            let opened = NodeServerMessage::ConnectionOpened {
                stream: Box::new(NetworkStream::TlsServer {
                    peer_addr: peer,
                    local_addr: local,
                    stream,
                }),
                is_server: true,
            };
            let _ = server.get().cast(opened);
        }
        Ok(Err(error)) => refused(error.to_string()),
        Err(_) => refused(format!(
            "no handshake within {} s",
            HANDSHAKE_TIMEOUT.as_secs()
        )),
    }
}

/// The name a dialled `host:port` must have in its certificate.
pub(crate) fn server_name(address: &str) -> Result<ServerName<'static>, String> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("{address}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_come_from_the_host_part() {
        let name = |a: &str| server_name(a).map(|n| n.to_str().into_owned());
        assert_eq!(name("127.0.0.1:44053"), Ok("127.0.0.1".to_owned()));
        assert_eq!(name("[::1]:44053"), Ok("::1".to_owned()));
        assert_eq!(name("node-b.example:1"), Ok("node-b.example".to_owned()));
        assert!(name("bad host:1").is_err());
    }
}
