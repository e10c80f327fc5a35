//! Fault injection for partition tests: with `VMQ_FAULT_INJECTION=fabric` in the environment,
//! `SIGUSR1` cuts this node off the cluster fabric and `SIGUSR2` heals it. Without the variable
//! nothing listens, and the signals keep their default meaning.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::Node;

/// The environment variable, and the value, that turn the signals on.
const FAULT_INJECTION_ENV: &str = "VMQ_FAULT_INJECTION";
const FABRIC_FAULTS: &str = "fabric";

/// Whether the environment asks for fabric faults.
pub(super) fn enabled() -> bool {
    std::env::var(FAULT_INJECTION_ENV).is_ok_and(|v| v == FABRIC_FAULTS)
}

/// Cuts the node off on `SIGUSR1` and heals it on `SIGUSR2`, until the node stops.
pub(super) async fn serve(node: Node, mut stop: watch::Receiver<bool>) {
    let (Ok(mut cut), Ok(mut heal)) = (
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
    ) else {
        tracing::error!("fault injection: cannot listen for SIGUSR1/SIGUSR2");
        return;
    };
    tracing::warn!("fault injection on: SIGUSR1 cuts this node off the cluster, SIGUSR2 heals it");
    loop {
        let cut_off = tokio::select! {
            _ = cut.recv() => true,
            _ = heal.recv() => false,
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        };
        match node.cluster.set_cut_off(cut_off).await {
            Ok(()) if cut_off => tracing::warn!("fault injection: cut off the cluster"),
            Ok(()) => tracing::warn!("fault injection: healed, reconnecting to the cluster"),
            Err(error) => tracing::error!(%error, "fault injection failed"),
        }
    }
}
