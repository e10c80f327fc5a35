//! A real headless Chromium driven over the Chrome DevTools Protocol: a few calls (navigate,
//! evaluate, viewport, screenshot) over one WebSocket, the browser killed on drop.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long a start or one protocol call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Browser::wait_until`] polls.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(20);

/// A headless Chromium with one page; the process group and its profile dir go on drop.
pub struct Browser {
    process: Child,
    socket: WebSocketStream<TcpStream>,
    session: String,
    next_id: u64,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    _profile: TempDir,
}

impl Browser {
    /// Starts `chromium` (or `$CHROMIUM`) and opens a blank page. Panics, naming the package to
    /// install, when there is no browser: a missing browser must fail the test, not skip it.
    pub async fn launch() -> Self {
        let binary = chromium_binary();
        let profile = tempfile::tempdir().expect("a profile dir");
        let mut process = Command::new(&binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--mute-audio",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; install a browser with `apt-get install chromium`",
                    binary.display()
                )
            });
        let stderr = process.stderr.take().expect("stderr is piped");
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let url = devtools_url(stderr, Arc::clone(&stderr_tail)).await;
        let socket = connect(&url).await;
        let mut browser = Self {
            process,
            socket,
            session: String::new(),
            next_id: 0,
            stderr_tail,
            _profile: profile,
        };
        let target = browser
            .send(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let target_id = target["targetId"].clone();
        let attached = browser
            .send(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await;
        browser.session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    /// Runs a protocol method on the page and answers its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params).await
    }

    /// Loads `url` and waits until its document has loaded (its scripts may still be fetching).
    pub async fn navigate(&mut self, url: &str) {
        let result = self.call("Page.navigate", json!({ "url": url })).await;
        assert!(
            result.get("errorText").is_none(),
            "navigating to {url}: {result}"
        );
        // The call returns once the navigation committed: the new document may still be parsing.
        let loaded = "document.readyState === 'complete'";
        self.wait_until("its load", loaded, |done| *done == true)
            .await;
    }

    /// Evaluates `expression` in the page and answers its value (JSON).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let params =
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let result = self.call("Runtime.evaluate", params).await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("evaluating {expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until `done` holds for its value, within [`PAGE_DEADLINE`]; panics
    /// with `what` and the last value otherwise.
    pub async fn wait_until(
        &mut self,
        what: &str,
        expression: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_within(PAGE_DEADLINE, what, expression, done)
            .await
    }

    /// [`Browser::wait_until`] with another deadline.
    pub async fn wait_within(
        &mut self,
        limit: Duration,
        what: &str,
        expression: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let value = self.eval(expression).await;
            if done(&value) {
                return value;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("the page never showed {what} within {limit:?}; last: {value}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Emulates a screen of `width` × `height` CSS pixels (`mobile`: a phone's viewport rules).
    pub async fn set_viewport(&mut self, width: u32, height: u32, mobile: bool) {
        let params = json!({
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
        });
        self.call("Emulation.setDeviceMetricsOverride", params)
            .await;
    }

    /// Emulates `prefers-color-scheme: dark` (or light).
    pub async fn set_dark(&mut self, dark: bool) {
        let scheme = if dark { "dark" } else { "light" };
        let features = json!([{ "name": "prefers-color-scheme", "value": scheme }]);
        self.call(
            "Emulation.setEmulatedMedia",
            json!({ "features": features }),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot_png(&mut self) -> Vec<u8> {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let data = shot["data"].as_str().expect("screenshot data");
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("the screenshot is base64")
    }

    async fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let exchange = async {
            self.socket
                .send(Message::text(message.to_string()))
                .await
                .expect("send to the browser");
            loop {
                let frame = self.socket.next().await;
                let Some(Ok(Message::Text(text))) = frame else {
                    if matches!(frame, Some(Ok(_))) {
                        continue;
                    }
                    panic!("the browser closed the protocol socket: {frame:?}");
                };
                let reply: Value = serde_json::from_str(text.as_str()).expect("protocol JSON");
                if reply["id"] == id {
                    return reply;
                }
            }
        };
        let reply = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer; browser said {:?}", self.tail()));
        if let Some(error) = reply.get("error") {
            panic!("{method}: {error}");
        }
        reply["result"].clone()
    }

    fn tail(&self) -> Vec<String> {
        self.stderr_tail
            .lock()
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: the wrapper script, the browser and its helper processes.
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.process.kill();
        // Reaped before the profile dir is removed (the next field dropped).
        let _ = self.process.wait();
    }
}

/// `$CHROMIUM`, else `chromium` or `chromium-browser` on the `PATH`.
fn chromium_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
        .unwrap_or_else(|| {
            panic!(
                "no chromium on the PATH: this test drives a real browser; \
                 install it with `apt-get install chromium` (CI does) or set CHROMIUM=/path"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Reads stderr up to `DevTools listening on ws://…`, then keeps draining it (a full pipe
/// would stall the browser) into the last lines kept for error messages.
async fn devtools_url(stderr: ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) -> String {
    let (found_tx, found_rx) = tokio::sync::oneshot::channel();
    let kept = Arc::clone(&tail);
    std::thread::spawn(move || {
        let mut found_tx = Some(found_tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                if let Some(tx) = found_tx.take() {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
            if let Ok(mut kept) = kept.lock() {
                kept.push_back(line);
                if kept.len() > 40 {
                    kept.pop_front();
                }
            }
        }
    });
    match tokio::time::timeout(CALL_TIMEOUT, found_rx).await {
        Ok(Ok(url)) => url,
        _ => panic!(
            "chromium did not print its DevTools address; it said: {:?}",
            tail.lock().map(|l| l.clone()).unwrap_or_default()
        ),
    }
}

/// The WebSocket to `ws://host:port/devtools/browser/<id>`.
async fn connect(url: &str) -> WebSocketStream<TcpStream> {
    let authority = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("not a ws:// address: {url}"));
    let stream = TcpStream::connect(authority)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the browser at {authority}: {e}"));
    let (socket, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap_or_else(|e| panic!("WebSocket handshake with {url}: {e}"));
    socket
}

/// Width and height from a PNG's header; panics if `bytes` is not a PNG.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24
            && bytes.starts_with(b"\x89PNG\r\n\x1a\n")
            && bytes.get(12..16) == Some(b"IHDR"),
        "not a PNG ({} bytes)",
        bytes.len()
    );
    let word = |at: usize| {
        let field: [u8; 4] = bytes[at..at + 4].try_into().expect("four bytes");
        u32::from_be_bytes(field)
    };
    (word(16), word(20))
}
