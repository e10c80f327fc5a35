//! `/api/v2`: VerneMQ's small JSON API beside the command tree (scope `api2`): `client` (is a
//! client online, its subscriptions) and `disconnect`. Reads the session index snapshot; only
//! `disconnect` sends a message.

use std::borrow::Cow;

use bytes::Bytes;
use hyper::{HeaderMap, Method, Response, StatusCode};
use serde_json::{json, Map, Value};
use vmq_actors::SessionKey;

use super::auth::is_authorized;
use super::response::{self, Body};
use super::routes::HttpContext;
use crate::config::HttpModule;

/// The path prefix.
pub const API_V2: &str = "/api/v2";
const METHODS: &str = "GET, HEAD";

/// Answers one `/api/v2` request.
pub async fn api_v2(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    ctx: &HttpContext,
) -> Response<Body> {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return response::method_not_allowed(METHODS);
    }
    if !is_authorized(&ctx.node, &ctx.listener, HttpModule::V2Api, headers) {
        return response::unauthorized();
    }
    let command = path
        .get(API_V2.len()..)
        .unwrap_or_default()
        .trim_start_matches('/');
    let params = match Params::parse(query.unwrap_or_default()) {
        Ok(params) => params,
        Err(message) => return response::alert(StatusCode::BAD_REQUEST, &message),
    };
    if !matches!(command, "client" | "disconnect") {
        return response::json(
            StatusCode::BAD_REQUEST,
            Bytes::from_static(b"invalid_command"),
        );
    }
    let Some(key) = params.key else {
        return response::alert(
            StatusCode::BAD_REQUEST,
            "missing parameter client_id=<value>",
        );
    };
    match command {
        "client" => client(&key, params.topics, ctx),
        _ => disconnect(key, params.cleanup, ctx).await,
    }
}

/// The query parameters `/api/v2` knows (others are ignored, as VerneMQ does).
#[derive(Debug, Default, PartialEq, Eq)]
struct Params {
    key: Option<SessionKey>,
    topics: bool,
    cleanup: bool,
}

impl Params {
    fn parse(query: &str) -> Result<Self, String> {
        let mut client_id = None;
        let mut mountpoint = Cow::Borrowed("");
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "client_id" => client_id = Some(value),
                "mountpoint" => mountpoint = value,
                "topics" => params.topics = switch("topics", &value)?,
                "cleanup" => params.cleanup = switch("cleanup", &value)?,
                _ => {}
            }
        }
        params.key = client_id
            .filter(|id| !id.is_empty())
            .map(|id| SessionKey::new(&mountpoint, &id));
        Ok(params)
    }
}

/// `&topics`, `&topics=true` or `&topics=false` (VerneMQ knew only the bare form).
fn switch(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "" | "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!(
            "invalid value '{value}' for {name}: write {name}, {name}=true or {name}=false"
        )),
    }
}

/// `client`: `{"status":"online"|"offline"|"unknown"}`, with `"topics":{filter: qos}` if asked.
fn client(key: &SessionKey, topics: bool, ctx: &HttpContext) -> Response<Body> {
    let index = ctx.node.sessions.sessions();
    let Some(view) = index.get(key) else {
        return ok(&json!({ "status": "unknown" }));
    };
    let status = if view.online.is_some() {
        "online"
    } else {
        "offline"
    };
    if !topics {
        return ok(&json!({ "status": status }));
    }
    let topics = match view.subscriptions.is_empty() {
        // VerneMQ encodes an empty subscription list as an empty array.
        true => Value::Array(Vec::new()),
        false => Value::Object(
            view.subscriptions
                .iter()
                .map(|(filter, options)| (filter.clone(), Value::from(options.qos)))
                .collect::<Map<String, Value>>(),
        ),
    };
    ok(&json!({ "status": status, "topics": topics }))
}

/// `disconnect`: `"ok"` when the client's session existed (it is disconnected, and deleted
/// with `cleanup`), `"unknown"` otherwise.
async fn disconnect(key: SessionKey, cleanup: bool, ctx: &HttpContext) -> Response<Body> {
    match ctx.node.sessions.disconnect(key, cleanup).await {
        Ok(true) => ok(&json!("ok")),
        Ok(false) => ok(&json!("unknown")),
        Err(error) => response::alert(StatusCode::SERVICE_UNAVAILABLE, &error.to_string()),
    }
}

fn ok(value: &Value) -> Response<Body> {
    response::json(StatusCode::OK, value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_take_bare_and_valued_switches() {
        let params =
            Params::parse("client_id=a%2Bb&mountpoint=mp&topics&cleanup=true&x=1").expect("valid");
        assert_eq!(params.key, Some(SessionKey::new("mp", "a+b")));
        assert!(params.topics && params.cleanup);
        let params = Params::parse("client_id=c&topics=false").expect("valid");
        assert_eq!(params.key, Some(SessionKey::new("", "c")));
        assert!(!params.topics && !params.cleanup);
        assert!(Params::parse("topics=yes").is_err());
        assert_eq!(Params::parse("client_id=").expect("valid").key, None);
    }
}
