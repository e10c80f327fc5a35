//! Clusters of real `vmq-node` processes on loopback: join, `cluster show`, a killed member going
//! down and rejoining by itself, and what the fabric refuses (wrong cookie, unreachable discovery
//! node, garbage on the cluster port).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::cluster_support::{all, Member, DOWN_WITHIN};
use crate::process::{run_to_exit, serving_config, vmq_node_with_config, write_config, DEADLINE};
use crate::support::DONE;

#[test]
fn three_nodes_join_a_killed_one_goes_down_and_rejoins_after_a_restart() {
    let root = tempfile::tempdir().expect("data root");
    let n1 = Member::start(root.path(), "n1", "");
    let n2 = Member::start(root.path(), "n2", "");
    let n3 = Member::start(root.path(), "n3", "");
    assert_eq!(n2.join(&n1), (200, DONE.to_owned()));
    assert_eq!(n3.join(&n2), (200, DONE.to_owned()));
    let everyone = all(&[&n1, &n2, &n3], true);
    for member in [&n1, &n2, &n3] {
        member.wait_show(&everyone, DEADLINE);
    }

    drop(n3); // SIGKILL
    let n3_down = vec![
        (n1.node(), true),
        (n2.node(), true),
        ("n3@127.0.0.1".to_owned(), false),
    ];
    for member in [&n1, &n2] {
        let took = member.wait_show(&n3_down, DOWN_WITHIN);
        assert!(took <= DOWN_WITHIN, "{took:?}");
        member.serves_mqtt();
    }

    // Same data dir, a new cluster port: it rejoins from its member file, nobody runs a join.
    let n3 = Member::start(root.path(), "n3", "");
    for member in [&n1, &n2, &n3] {
        member.wait_show(&everyone, DEADLINE);
    }

    // Alone after a restart, a node still lists the others, down.
    drop((n1, n2, n3));
    let n1 = Member::start(root.path(), "n1", "");
    let others_down = vec![
        (n1.node(), true),
        ("n2@127.0.0.1".to_owned(), false),
        ("n3@127.0.0.1".to_owned(), false),
    ];
    assert_eq!(n1.show(), others_down);
}

#[test]
fn a_silent_member_goes_down_until_it_speaks_again_and_a_dead_one_can_leave() {
    let root = tempfile::tempdir().expect("data root");
    let n1 = Member::start(root.path(), "s1", "");
    let n2 = Member::start(root.path(), "s2", "");
    let n3 = Member::start(root.path(), "s3", "");
    assert_eq!(n2.join(&n1), (200, DONE.to_owned()));
    assert_eq!(n3.join(&n1), (200, DONE.to_owned()));
    let everyone = all(&[&n1, &n2, &n3], true);
    n1.wait_show(&everyone, DEADLINE);

    // Stopped, its connections stay open but it sends nothing: only the heartbeat notices.
    n3.process.signal("STOP");
    let n3_down = vec![(n1.node(), true), (n2.node(), true), (n3.node(), false)];
    for member in [&n1, &n2] {
        member.wait_show(&n3_down, DOWN_WITHIN);
    }
    n3.process.signal("CONT");
    for member in [&n1, &n2, &n3] {
        member.wait_show(&everyone, DEADLINE);
    }

    let n3_node = n3.node();
    drop(n3); // SIGKILL
    n1.wait_show(&n3_down, DOWN_WITHIN);
    let leave = |who: &str| n1.get(&format!("/api/v1/cluster/leave?node={who}"));
    assert_eq!(leave("nobody@127.0.0.1").0, 404);
    let (status, body) = n1.get("/api/v1/cluster/leave");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("You have to provide a node"), "{body}");
    assert_eq!(leave(&n3_node), (200, DONE.to_owned()));
    // Removed everywhere: n2 learns it from n1's heartbeat.
    for member in [&n1, &n2] {
        member.wait_show(&all(&[&n1, &n2], true), DEADLINE);
    }

    // A running node asked to leave stops accepting MQTT connections; it still serves HTTP.
    let (status, body) = leave(&n2.node());
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Done! Use -k to teardown and migrate existing sessions!"),
        "{body}"
    );
    let deadline = Instant::now() + DEADLINE;
    while TcpStream::connect(n2.mqtt).is_ok() {
        assert!(
            Instant::now() < deadline,
            "n2 still accepts MQTT connections"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(n2.show(), all(&[&n1, &n2], true));
    n1.serves_mqtt();
}

#[test]
fn a_node_with_another_cookie_cannot_join_and_the_refusal_is_logged() {
    let root = tempfile::tempdir().expect("data root");
    let mut n1 = Member::start(root.path(), "c1", "");
    let n2 = Member::start(root.path(), "c2", "distributed_cookie = other");
    let started = Instant::now();
    let (status, body) = n2.join(&n1);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("refused the connection"), "{body}");
    assert!(body.contains("distributed_cookie"), "{body}");
    // The refused handshake fails the join at once, not after the join timeout.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    n1.process.wait_for_line("cluster connection refused");
    assert_eq!(n1.show(), all(&[&n1], true));
    assert_eq!(n2.show(), all(&[&n2], true));
}

#[test]
fn bad_joins_answer_with_clear_alerts_and_garbage_on_the_cluster_port_is_dropped() {
    let root = tempfile::tempdir().expect("data root");
    let n1 = Member::start(root.path(), "g1", "");
    // Nothing listens on a port just freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = Instant::now();
    let (status, body) = n1.get(&format!(
        "/api/v1/cluster/join?discovery-node=nobody@127.0.0.1:{closed}"
    ));
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("could not reach discovery node nobody@127.0.0.1"),
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let (status, body) = n1.join(&n1);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is this node"), "{body}");
    let (status, body) = n1.get("/api/v1/cluster/join");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("You have to provide a discovery node"),
        "{body}"
    );

    let mut garbage = TcpStream::connect(n1.cluster).expect("cluster port");
    garbage.set_read_timeout(Some(DEADLINE)).expect("timeout");
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\xff\xff\xff\xff")
        .expect("send garbage");
    let mut buf = [0u8; 64];
    let closed = matches!(garbage.read(&mut buf), Ok(0) | Err(_));
    assert!(closed, "the node closed the garbage connection");
    assert_eq!(n1.show(), all(&[&n1], true));
    n1.serves_mqtt();

    // A discovery node under the wrong name: the alert names the node that answered.
    let n2 = Member::start(root.path(), "g2", "");
    let port = n1.cluster.port();
    let (status, body) = n2.get(&format!(
        "/api/v1/cluster/join?discovery-node=wrong@127.0.0.1:{port}"
    ));
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("is g1@127.0.0.1, not wrong@127.0.0.1"),
        "{body}"
    );
}

#[test]
fn a_taken_cluster_port_or_a_corrupt_member_file_stops_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port to occupy");
    let port = taken.local_addr().expect("local addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let text = format!(
        "{}listener.vmq.clustering = 127.0.0.1:{port}\n",
        serving_config(&data).replace("listener.vmq.clustering = 127.0.0.1:0\n", "")
    );
    let path = write_config(dir.path(), &text);
    let run = run_to_exit(vmq_node_with_config(dir.path(), &path));
    assert_eq!(run.code, Some(78), "{run:?}");
    assert!(run.stderr.contains("listener.vmq.clustering"), "{run:?}");
    assert!(run.stderr.contains(&port.to_string()), "{run:?}");

    let members = data.join("cluster_members.json");
    std::fs::write(&members, "{\"members\": [").expect("write a corrupt member file");
    let path = write_config(dir.path(), &serving_config(&data));
    let run = run_to_exit(vmq_node_with_config(dir.path(), &path));
    assert_eq!(run.code, Some(65), "{run:?}");
    assert!(run.stderr.contains("cluster_members.json"), "{run:?}");
    assert!(run.stderr.contains("corrupt"), "{run:?}");
}
