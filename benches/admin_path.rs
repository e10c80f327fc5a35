//! Criterion benches of the admin path: parse + render, and one whole in-process request (no socket).

use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::Full;
use hyper::Request;
use vmq_node::admin::{render, Cell, Command, CommandLine, Reply, Table};
use vmq_node::config::Config;
use vmq_node::http::routes::{route, HttpContext};

fn parse_and_render(c: &mut Criterion) {
    c.bench_function("parse api-key add (http query)", |b| {
        b.iter(|| {
            let line = CommandLine::from_http(
                "api-key/add",
                Some("key=abcdefghijklmnopqrstuvwxyz012345&scope=mgmt&expires=2030-01-01T00%3A00%3A00Z"),
                None,
            );
            Command::parse(std::hint::black_box(&line)).is_ok()
        })
    });
    let mut table = Table::new([
        "client_id",
        "is_online",
        "mountpoint",
        "peer_host",
        "peer_port",
        "user",
    ]);
    for i in 0..100 {
        table.push(vec![
            format!("client-{i}").into(),
            Cell::Bool(true),
            "".into(),
            "127.0.0.1".into(),
            Cell::Int(40000 + i),
            Cell::Null,
        ]);
    }
    let reply = Reply::table(table);
    c.bench_function("render 100-row table as JSON", |b| {
        b.iter(|| render::to_json(std::hint::black_box(&reply)))
    });
    c.bench_function("render 100-row table for humans", |b| {
        b.iter(|| render::to_human(std::hint::black_box(&reply)))
    });
}

fn in_process_request(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "platform_data_dir = {}\nlistener.http.default = 127.0.0.1:0\nlistener.tcp.default = 127.0.0.1:0\nlistener.vmq.clustering = 127.0.0.1:0\n",
        dir.path().display()
    );
    let config = Config::from_text(&text, "bench", &[]).expect("config");
    let listener = Arc::new(config.http_listeners()[0].clone());
    let (running, key) = runtime.block_on(async {
        let running = vmq_node::node::start(config, &[]).await.expect("node");
        let key = running
            .node()
            .vault
            .create(vmq_actors::Scope::Mgmt, None, Default::default())
            .await
            .expect("key");
        (running, key.expose().to_owned())
    });
    let ctx = HttpContext {
        node: running.node().clone(),
        listener,
    };
    c.bench_function("GET /api/v1/cluster/show in process", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/api/v1/cluster/show")
                .header("x-api-key", key.as_str())
                .body(Full::new(Bytes::new()))
                .expect("request");
            let response = route(request, &ctx).await;
            assert_eq!(response.status(), 200);
        })
    });
    runtime.block_on(running.stop());
}

criterion_group!(benches, parse_and_render, in_process_request);
criterion_main!(benches);
