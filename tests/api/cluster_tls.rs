//! The cluster fabric over mutual TLS (`listener.vmqs.*`) with real processes: nodes join and
//! list each other over TLS; a node without TLS, or with a certificate from another CA, is
//! refused and the refusal is logged; unusable TLS files stop the start.

use std::path::Path;
use std::time::Instant;

use rcgen::{CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, KeyPair};

use crate::cluster_support::{all, Member};
use crate::process::{run_to_exit, serving_config, vmq_node_with_config, write_config, DEADLINE};
use crate::support::DONE;
use crate::tls::{new_ca, write};

const REFUSED_IN_LOG: &str = "cluster connection refused: TLS handshake failed";

/// `<name>.pem` / `<name>.key`: a node certificate for 127.0.0.1 (server and client auth).
fn node_cert(dir: &Path, name: &str, ca: &CertifiedIssuer<'_, KeyPair>) {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("params");
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, ca).expect("signed cert");
    write(dir, &format!("{name}.pem"), &cert.pem());
    write(dir, &format!("{name}.key"), &key.serialize_pem());
}

/// A CA (`ca.pem`), certificates `a`, `b`, `c` signed by it, and `stranger` signed by another CA.
fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = new_ca("vmq cluster CA");
    write(dir.path(), "ca.pem", &ca.pem());
    node_cert(dir.path(), "a", &ca);
    node_cert(dir.path(), "b", &ca);
    node_cert(dir.path(), "c", &ca);
    node_cert(dir.path(), "stranger", &new_ca("stranger CA"));
    dir
}

/// The `listener.vmqs.*` lines of a node presenting `<cert>.pem`.
fn vmqs(pki: &Path, cert: &str) -> String {
    format!(
        "listener.vmqs.clustering = 127.0.0.1:0\n\
         listener.vmqs.certfile = {}\n\
         listener.vmqs.keyfile = {}\n\
         listener.vmqs.cafile = {}\n",
        pki.join(format!("{cert}.pem")).display(),
        pki.join(format!("{cert}.key")).display(),
        pki.join("ca.pem").display(),
    )
}

#[test]
fn nodes_join_over_tls_and_a_node_without_a_trusted_certificate_is_refused() {
    let (root, pki) = (tempfile::tempdir().expect("data root"), pki());
    let mut t1 = Member::start(root.path(), "t1", &vmqs(pki.path(), "a"));
    let t2 = Member::start(root.path(), "t2", &vmqs(pki.path(), "b"));
    let t3 = Member::start(root.path(), "t3", &vmqs(pki.path(), "c"));
    // A connection that never starts a handshake does not hold up the others.
    let _silent = std::net::TcpStream::connect(t1.cluster).expect("cluster port");
    assert_eq!(t2.join(&t1), (200, DONE.to_owned()));
    // t3 knows only t2; the full mesh forms through the member lists, every link over TLS.
    assert_eq!(t3.join(&t2), (200, DONE.to_owned()));
    let everyone = all(&[&t1, &t2, &t3], true);
    for member in [&t1, &t2, &t3] {
        member.wait_show(&everyone, DEADLINE);
    }

    // Without TLS: the handshake fails on t1, and the joiner's connection closes at once.
    let plain = Member::start(root.path(), "p3", "");
    let mark = t1.process.mark();
    let started = Instant::now();
    let (status, body) = plain.join(&t1);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("refused the connection"), "{body}");
    assert!(started.elapsed() < DEADLINE, "{:?}", started.elapsed());
    t1.process.wait_for_line_since(mark, REFUSED_IN_LOG);

    // TLS, trusting the cluster's CA, but with a certificate from another CA.
    let stranger = Member::start(root.path(), "s4", &vmqs(pki.path(), "stranger"));
    let mark = t1.process.mark();
    let (status, body) = stranger.join(&t1);
    assert_eq!(status, 503, "{body}");
    let line = t1.process.wait_for_line_since(mark, REFUSED_IN_LOG);
    assert!(
        line.contains("127.0.0.1:"),
        "the refusal names the peer: {line}"
    );

    assert_eq!(t1.show(), everyone);
    assert_eq!(plain.show(), all(&[&plain], true));
    assert_eq!(stranger.show(), all(&[&stranger], true));
}

/// Starts a node with the serving config plus `extra`; returns its exit code and stderr.
fn start_fails(extra: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!("{}{extra}", serving_config(&dir.path().join("data")));
    let path = write_config(dir.path(), &text);
    let run = run_to_exit(vmq_node_with_config(dir.path(), &path));
    (run.code, run.stderr)
}

#[test]
fn unusable_tls_files_stop_the_start_with_a_config_error() {
    let pki = pki();
    let lines = vmqs(pki.path(), "a");
    let garbage = pki.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write garbage");
    let certfile = pki.path().join("a.pem").display().to_string();

    let missing = lines.replace(&certfile, "/nonexistent/a.pem");
    let (code, stderr) = start_fails(&missing);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("listener.vmqs.certfile"), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");

    let bad = lines.replace(&certfile, &garbage.display().to_string());
    let (code, stderr) = start_fails(&bad);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("listener.vmqs"), "{stderr}");
    assert!(stderr.contains("garbage.pem"), "{stderr}");

    let keyfile = pki.path().join("a.key").display().to_string();
    let wrong_key = lines.replace(&keyfile, &pki.path().join("b.key").display().to_string());
    let (code, stderr) = start_fails(&wrong_key);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("listener.vmqs"), "{stderr}");

    let without_ca: String = lines
        .lines()
        .filter(|line| !line.contains("cafile"))
        .map(|line| format!("{line}\n"))
        .collect();
    let (code, stderr) = start_fails(&without_ca);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("listener.vmqs.cafile"), "{stderr}");

    let (code, stderr) = start_fails(&format!("listener.vmqs.certfile = {certfile}\n"));
    assert_eq!(code, Some(78), "{stderr}");
    assert!(
        stderr.contains("listener.vmqs.clustering is not set"),
        "{stderr}"
    );
}
