//! A partition: n3 of three real `vmq-node` processes is cut off the cluster fabric (its
//! connections closed and refused: `VMQ_FAULT_INJECTION=fabric` and `SIGUSR1`) and healed
//! (`SIGUSR2`). Each side keeps serving; the majority keeps writing; after the heal, what was
//! written on either side is everywhere, the publishes each side kept for the other's
//! subscribers arrive once and in order, and routing works both ways again.

use rumqttc::QoS;

use crate::cluster_keys::{create, until_works, works};
use crate::cluster_routing::{connect, gets_retained, payloads_until, until_routed, wait_retained};
use crate::cluster_support::{joined, Member, DOWN_WITHIN};
use crate::mqtt_support::{publish, subscribe_at, V4Client};
use crate::process::{DEADLINE, KEY};

const FAULTS: &[(&str, &str)] = &[("VMQ_FAULT_INJECTION", "fabric")];

/// Messages published on each side while it cannot reach the other.
const KEPT: usize = 20;
/// n2 keeps this many bytes for an unreachable node: too few for [`OVERFLOW`] messages.
const SMALL_BUFFER: &str = "outgoing_clustering_buffer_size = 4000\n";
/// Messages n2 publishes for n3 while it is cut off.
const OVERFLOW: usize = 200;

/// Publishes `KEPT` numbered messages to `topic`, then `marker`; answers the payloads in order.
async fn publish_batch(publisher: &V4Client, topic: &str, marker: &str) -> Vec<String> {
    let mut payloads: Vec<String> = (0..KEPT).map(|i| format!("{marker}-{i}")).collect();
    payloads.push(marker.to_owned());
    for payload in &payloads {
        publish(publisher, topic, QoS::AtLeastOnce, false, payload).await;
    }
    payloads
}

fn shown(members: &[&Member], running: &[bool]) -> Vec<(String, bool)> {
    members
        .iter()
        .zip(running)
        .map(|(m, up)| (m.node(), *up))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_cut_off_and_healed_loses_nothing_written_on_either_side() {
    let root = tempfile::tempdir().expect("data root");
    let anonymous = "allow_anonymous = on\n";
    let [n1, n2, n3] = joined([
        Member::start(root.path(), "p1", anonymous),
        Member::start(root.path(), "p2", &format!("{anonymous}{SMALL_BUFFER}")),
        Member::start_with_env(root.path(), "p3", anonymous, FAULTS),
    ]);
    let everyone = [&n1, &n2, &n3];
    let from1 = connect(&n1, "pub1").await;
    let from3 = connect(&n3, "pub3").await;
    let mut on2 = connect(&n2, "sub2").await;
    subscribe_at(&mut on2, "p/#", QoS::AtLeastOnce).await;
    let mut on3 = connect(&n3, "sub3").await;
    subscribe_at(&mut on3, "p/#", QoS::AtLeastOnce).await;
    until_routed(&from1, "p/x", &mut [&mut on2, &mut on3]).await;
    let from2 = connect(&n2, "pub2").await;
    let mut overflow3 = connect(&n3, "overflow3").await;
    subscribe_at(&mut overflow3, "q/#", QoS::AtLeastOnce).await;
    until_routed(&from2, "q/x", &mut [&mut overflow3]).await;

    n3.process.signal("USR1");
    n1.wait_show(&shown(&everyone, &[true, true, false]), DOWN_WITHIN);
    n3.wait_show(&shown(&everyone, &[false, false, true]), DOWN_WITHIN);

    // The majority writes; the cut-off node refuses writes but authenticates and serves.
    let key = create(&n1);
    until_works(&n2, &key, DEADLINE);
    let (status, body) = n3.get("/api/v1/api-key/create");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no quorum"), "{body}");
    assert!(works(&n3, KEY), "the cut-off node still authenticates");
    let majority = publish_batch(&from1, "p/a", "majority").await;
    assert_eq!(payloads_until(&mut on2, "majority").await, majority);
    let minority = publish_batch(&from3, "p/b", "minority").await;
    assert_eq!(payloads_until(&mut on3, "minority").await, minority);
    for i in 0..OVERFLOW {
        let payload = format!("{i:0>100}");
        publish(&from2, "q/x", QoS::AtLeastOnce, false, &payload).await;
    }
    publish(&from1, "r/majority", QoS::AtLeastOnce, true, "set-on-1").await;
    publish(&from3, "r/minority", QoS::AtLeastOnce, true, "set-on-3").await;

    n3.process.signal("USR2");
    for member in everyone {
        member.wait_show(&shown(&everyone, &[true, true, true]), DEADLINE);
    }
    // Each side kept the other's publishes: they arrive once, in order.
    assert_eq!(payloads_until(&mut on3, "majority").await, majority);
    assert_eq!(payloads_until(&mut on2, "minority").await, minority);
    // n2's small buffer kept the first of its messages for n3, in order, and dropped the rest.
    publish(&from2, "q/x", QoS::AtLeastOnce, false, "after").await;
    let mut kept = payloads_until(&mut overflow3, "after").await;
    kept.pop();
    let first: Vec<String> = (0..kept.len()).map(|i| format!("{i:0>100}")).collect();
    assert_eq!(kept, first, "the first ones, in order");
    assert!((1..OVERFLOW).contains(&kept.len()), "{} kept", kept.len());
    assert!(n2.counter("cluster_bytes_dropped") > 0.0);
    assert_eq!(n1.counter("cluster_bytes_dropped"), 0.0);
    for member in everyone {
        assert!(
            member.counter("netsplit_detected") >= 1.0,
            "{}",
            member.name
        );
        assert!(
            member.counter("netsplit_resolved") >= 1.0,
            "{}",
            member.name
        );
    }
    assert!(n1.counter("cluster_bytes_sent") > 0.0);
    assert!(n3.counter("cluster_bytes_received") > 0.0);
    until_works(&n3, &key, DEADLINE);
    let from3_after = create(&n3);
    until_works(&n1, &from3_after, DEADLINE);
    wait_retained(&n3, "r/majority", Some("set-on-1"));
    wait_retained(&n1, "r/minority", Some("set-on-3"));
    gets_retained(&n2, "late2", "r/minority", "set-on-3").await;
    until_routed(&from1, "p/y", &mut [&mut on3]).await;
    until_routed(&from3, "p/z", &mut [&mut on2]).await;
    publish(&from1, "p/c", QoS::AtLeastOnce, false, "healed").await;
    assert_eq!(payloads_until(&mut on3, "healed").await, ["healed"]);
    assert_eq!(payloads_until(&mut on2, "healed").await, ["healed"]);
}
