//! The `/status` page in a real headless Chromium: it shows what `/status.json` says, refreshes
//! live (rates and chart), fits a phone, and says so when the node goes away. Also writes the
//! README's screenshot (an ignored test).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rumqttc::QoS;
use serde_json::Value;

use crate::browser::{png_size, Browser};
use crate::mqtt_support::{
    connect_v4, disconnect, persistent, publish, received, subscribe_v4, V4Client,
};
use crate::status_json::{status_json, NODE, ROWS};
use crate::support::TestNode;

/// What the page shows: state, version, cluster members and every `data-node`/`data-field`
/// element (text, or the row count of a table).
const PAGE_JS: &str = r#"(() => {
  const nodes = {};
  for (const e of document.querySelectorAll("[data-node][data-field]")) {
    const node = nodes[e.dataset.node] || (nodes[e.dataset.node] = {});
    node[e.dataset.field] = e.tagName === "TABLE" ? e.tBodies[0].rows.length : e.textContent;
  }
  const chart = document.querySelector('polyline[data-series="in"]');
  return {
    state: document.body.dataset.state,
    banner: !document.getElementById("banner").hidden,
    version: document.getElementById("version").textContent,
    members: [...document.querySelectorAll("[data-member]")].map((m) => [m.dataset.member, m.dataset.running]),
    chart_points: chart ? chart.getAttribute("points").split(" ").length : 0,
    stale: document.querySelectorAll("section.node.stale").length,
    nodes,
  };
})()"#;

/// The node's figures as the page shows them (`1,234` → 1234).
fn shown(page: &Value, field: &str) -> Option<u64> {
    let text = page["nodes"][NODE][field].as_str()?;
    text.replace(',', "").parse().ok()
}

/// Asserts the page shows `status` (a `/status.json` node object).
fn assert_page_shows(page: &Value, status: &Value) {
    for row in ROWS.iter().filter(|r| **r != "version") {
        assert_eq!(shown(page, row), status[row].as_u64(), "{row}: {page}");
    }
    assert_eq!(page["version"], status["version"], "{page}");
    let listeners = status["listeners"].as_array().map(Vec::len);
    let rows = page["nodes"][NODE]["listeners"].as_u64();
    assert_eq!(rows, listeners.and_then(|n| u64::try_from(n).ok()));
    assert_eq!(
        page["members"],
        serde_json::json!([[NODE, "true"]]),
        "{page}"
    );
}

/// Clients behind the figures: `offline` persistent sessions gone away, `subscribers` online
/// on `plant/#`, and a sensor that published `messages` (one retained per topic).
struct Plant {
    sensor: V4Client,
    subscribers: Vec<V4Client>,
}

impl Plant {
    async fn start(node: &TestNode, subscribers: usize, offline: usize, messages: usize) -> Self {
        for i in 0..offline {
            let (mut gone, _) = persistent(node, &format!("away-{i}")).await;
            subscribe_v4(&mut gone, &["plant/#"]).await;
            disconnect(gone).await;
        }
        let mut clients = Vec::new();
        for i in 0..subscribers {
            let mut client = connect_v4(node, &format!("dashboard-{i}")).await;
            subscribe_v4(&mut client, &["plant/#", "alerts/+"]).await;
            clients.push(client);
        }
        let mut plant = Self {
            sensor: connect_v4(node, "sensor").await,
            subscribers: clients,
        };
        plant.publish(messages).await;
        plant
    }

    /// Publishes `count` messages and waits until the first subscriber has the last one.
    async fn publish(&mut self, count: usize) {
        for i in 0..count {
            let topic = format!("plant/{}/temp", i % 4);
            let payload = format!("{}", 20 + i % 7);
            publish(&self.sensor, &topic, QoS::AtMostOnce, i < 4, &payload).await;
        }
        publish(&self.sensor, "plant/last", QoS::AtMostOnce, false, "end").await;
        if let Some(first) = self.subscribers.first_mut() {
            received(first, "end").await;
        }
    }
}

/// The `/status.json` figures once `msg_in` stopped moving at `want` messages.
async fn settled(node: &TestNode, want: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let status = status_json(node).await;
        if status["msg_in"] == want || tokio::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A screenshot of the viewport (`width` × `height`), checked to be a non-trivial PNG, saved.
async fn screenshot(browser: &mut Browser, path: &Path, width: u32, height: u32) -> usize {
    let png = browser.screenshot_png().await;
    assert_eq!(png_size(&png), (width, height), "{}", path.display());
    assert!(
        png.len() > 15_000,
        "a near-empty screenshot: {} bytes",
        png.len()
    );
    std::fs::write(path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    println!("screenshot: {} ({} bytes)", path.display(), png.len());
    png.len()
}

/// On a phone nothing is wider than the screen, in light and dark mode.
async fn assert_fits_a_phone_light_and_dark(browser: &mut Browser) {
    browser.set_viewport(390, 844, true).await;
    let widths = "[document.documentElement.scrollWidth, window.innerWidth]";
    let widths = browser.eval(widths).await;
    assert_eq!(
        widths,
        serde_json::json!([390, 390]),
        "scrollWidth, innerWidth"
    );
    screenshot(browser, &target_dir().join("status-phone.png"), 390, 844).await;
    let background = "getComputedStyle(document.body).backgroundColor";
    let light = browser.eval(background).await;
    browser.set_dark(true).await;
    let dark = browser.eval(background).await;
    assert_ne!(light, dark, "prefers-color-scheme: dark changes nothing");
    screenshot(
        browser,
        &target_dir().join("status-phone-dark.png"),
        390,
        844,
    )
    .await;
}

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

#[tokio::test]
async fn the_status_page_shows_status_json_live_in_a_real_browser() {
    let node = TestNode::start().await;
    let mut plant = Plant::start(&node, 3, 1, 5).await;
    let status = settled(&node, 6).await;
    assert_eq!(
        (
            status["num_online"].as_u64(),
            status["num_offline"].as_u64()
        ),
        (Some(4), Some(1))
    );

    let mut browser = Browser::launch().await;
    browser.set_viewport(1280, 800, false).await;
    browser
        .navigate(&format!("http://{}/status", node.addr))
        .await;
    let page = browser
        .wait_until("4 connected clients", PAGE_JS, |p| {
            shown(p, "num_online") == Some(4)
        })
        .await;
    assert_eq!(page["state"], "live", "{page}");
    assert_page_shows(&page, &status_json(&node).await);
    println!("the browser read: {}", page["nodes"][NODE]);

    // Live: new traffic shows up at the next refresh, with a rate and a chart.
    plant.publish(20).await;
    let status = settled(&node, 27).await;
    let page = browser
        .wait_until("the new traffic, a rate and a chart", PAGE_JS, |p| {
            shown(p, "msg_in") == Some(27) && p["chart_points"].as_u64() >= Some(2)
        })
        .await;
    assert_page_shows(&page, &status);
    let rate = page["nodes"][NODE]["msg_in_rate"]
        .as_str()
        .unwrap_or_default();
    assert!(
        rate.parse::<f64>().is_ok(),
        "msg_in_rate {rate:?} in {page}"
    );
    let laptop = target_dir().join("status-laptop.png");
    screenshot(&mut browser, &laptop, 1280, 800).await;
    assert_fits_a_phone_light_and_dark(&mut browser).await;

    // The node goes away: the page says so and keeps the last figures, dimmed.
    drop(plant);
    node.stop().await;
    let page = browser
        .wait_until("the unreachable state", PAGE_JS, |p| {
            p["state"] == "unreachable"
        })
        .await;
    assert_eq!(
        (page["banner"].as_bool(), page["stale"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(shown(&page, "msg_in"), Some(27), "{page}");
}

/// Writes `docs/status.png` for the README: a laptop-size screenshot of a node with clients and
/// a minute of varying traffic (the page refreshing every second for the chart).
/// Run: `cargo test --test api readme_screenshot -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/status.png; run by hand"]
async fn readme_screenshot() {
    let node = TestNode::start().await;
    let plant = Plant::start(&node, 8, 3, 12).await;
    let sensor = plant.sensor.client.clone();
    let traffic = tokio::spawn(async move {
        for tick in 0u32..u32::MAX {
            // A wave of 2 to 14 messages per 100 ms.
            let wave = (f64::from(tick) / 12.0).sin().mul_add(6.0, 8.0);
            for i in 0..wave.round() as u32 {
                let topic = format!("plant/{}/temp", i % 4);
                let _ = sensor
                    .publish(topic, QoS::AtMostOnce, false, b"21.5".to_vec())
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut browser = Browser::launch().await;
    browser.set_viewport(1280, 900, false).await;
    browser
        .navigate(&format!("http://{}/status?refresh=1", node.addr))
        .await;
    let minutes = Duration::from_secs(120);
    browser
        .wait_within(minutes, "a long chart", PAGE_JS, |p| {
            p["chart_points"].as_u64() >= Some(58)
        })
        .await;
    let height = browser.eval("document.documentElement.scrollHeight").await;
    let height = height
        .as_u64()
        .and_then(|h| u32::try_from(h).ok())
        .expect("a height");
    browser.set_viewport(1280, height, false).await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status.png");
    std::fs::create_dir_all(path.parent().expect("docs/")).expect("docs/ created");
    let bytes = screenshot(&mut browser, &path, 1280, height).await;
    assert!(bytes < 300_000, "keep the README's screenshot small");
    traffic.abort();
    drop(plant);
    node.stop().await;
}
