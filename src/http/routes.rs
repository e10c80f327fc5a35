//! Which endpoint a request is for, its method and auth checks, then the command tree, `/api/v2` or the health checks.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use super::api_v2::{api_v2, API_V2};
use super::auth::{authorized_caller, is_authorized};
use super::response::{self, Body};
use crate::admin::{self, Caller, CommandLine};
use crate::config::{HttpListener, HttpModule};
use crate::metrics::Endpoint;
use crate::node::Node;

/// Request bodies (POST form parameters) larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const API_V1: &str = "/api/v1";
const API_V1_METHODS: &str = "GET, HEAD, POST, OPTIONS";

/// What one listener's requests need: the node and the listener's own config.
#[derive(Debug, Clone)]
pub struct HttpContext {
    /// The node the commands run against.
    pub node: Node,
    /// The listener (its auth-mode overrides).
    pub listener: Arc<HttpListener>,
}

/// Handles one request from an unknown peer (in-process callers); see [`route_from`].
pub async fn route<B>(request: Request<B>, ctx: &HttpContext) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    route_from(request, ctx, None).await
}

/// Handles one request from `peer` and counts it in `http_requests`. Never fails: every
/// outcome is a response.
pub async fn route_from<B>(
    request: Request<B>,
    ctx: &HttpContext,
    peer: Option<SocketAddr>,
) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let requests = ctx.node.metrics.http();
    let path = request.uri().path();
    let (response, endpoint) = if path == API_V1 || path.starts_with("/api/v1/") {
        // `/api/v1` names its command once the command line is read.
        let (response, command) = api_v1(request, ctx, peer).await;
        (response, command.unwrap_or_else(|| requests.path(API_V1)))
    } else {
        let endpoint = requests.path(path);
        (other(request, ctx).await, endpoint)
    };
    requests.count(endpoint, response.status().as_u16());
    response
}

/// Everything outside `/api/v1`.
async fn other<B>(request: Request<B>, ctx: &HttpContext) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = request.uri().path();
    if path == "/metrics" {
        return refusal(&request, ctx, HttpModule::Metrics)
            .unwrap_or_else(|| response::prometheus_text(ctx.node.metrics.exposition()));
    }
    if path == API_V2 || path.starts_with("/api/v2/") {
        let uri = request.uri();
        return api_v2(request.method(), path, uri.query(), request.headers(), ctx).await;
    }
    if let Some(check) = super::health::check_for(path) {
        return refusal(&request, ctx, HttpModule::Health)
            .unwrap_or_else(|| super::health::respond(check, &ctx.node));
    }
    if let Some(page) = super::status::page_for(path) {
        if let Some(refused) = refusal(&request, ctx, HttpModule::Status) {
            return refused;
        }
        return super::status::respond(page, &ctx.node).await;
    }
    response::alert(
        StatusCode::NOT_FOUND,
        "no such endpoint: see the README for the API",
    )
}

/// Why a GET/HEAD-only endpoint of `module` refuses the request: 405 for other methods, 401
/// without a key its auth mode needs; `None` to serve it.
fn refusal<B>(
    request: &Request<B>,
    ctx: &HttpContext,
    module: HttpModule,
) -> Option<Response<Body>> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Some(response::method_not_allowed("GET, HEAD"));
    }
    if !is_authorized(&ctx.node, &ctx.listener, module, request.headers()) {
        return Some(response::unauthorized());
    }
    None
}

/// A command over HTTP; answers the response and, once the command line was read, the
/// command it named (for `http_requests`).
async fn api_v1<B>(
    request: Request<B>,
    ctx: &HttpContext,
    peer: Option<SocketAddr>,
) -> (Response<Body>, Option<Endpoint>)
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match *request.method() {
        Method::GET | Method::HEAD | Method::POST => {}
        Method::OPTIONS => return (cors_preflight(), None),
        _ => return (response::method_not_allowed(API_V1_METHODS), None),
    }
    let Some(key) = authorized_caller(
        &ctx.node,
        &ctx.listener,
        HttpModule::MgmtApi,
        request.headers(),
    ) else {
        return (response::unauthorized(), None);
    };
    let (parts, body) = request.into_parts();
    let form = match read_form(&parts, body).await {
        Ok(form) => form,
        Err(rejection) => return (rejection, None),
    };
    let words = parts.uri.path().get(API_V1.len()..).unwrap_or_default();
    let line = CommandLine::from_http(words, parts.uri.query(), form.as_deref());
    let command = ctx.node.metrics.http().command(admin::command_index(&line));
    let caller = Caller::http(peer, key);
    let outcome = admin::run(&line, &ctx.node, &caller).await;
    (response::command_response(outcome), Some(command))
}

/// The POST body as form text (capped at [`MAX_BODY_BYTES`]); `None` for other methods.
async fn read_form<B>(
    request: &hyper::http::request::Parts,
    body: B,
) -> Result<Option<String>, Response<Body>>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if request.method != Method::POST {
        return Ok(None);
    }
    let is_form = request.headers.get(CONTENT_TYPE).is_none_or(|value| {
        let essence = value
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default();
        essence
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !is_form {
        return Err(response::alert(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST bodies must be application/x-www-form-urlencoded",
        ));
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error)
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(response::alert(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body too large: at most {MAX_BODY_BYTES} bytes"),
            ));
        }
        Err(error) => {
            return Err(response::alert(
                StatusCode::BAD_REQUEST,
                &format!("could not read the request body: {error}"),
            ));
        }
    };
    match String::from_utf8(body.to_vec()) {
        Ok(text) => Ok(Some(text)),
        Err(_) => Err(response::alert(
            StatusCode::BAD_REQUEST,
            "the request body is not UTF-8",
        )),
    }
}

/// CORS preflight: answered without credentials (browsers send none on a preflight).
fn cors_preflight() -> Response<Body> {
    let mut response = response::json(StatusCode::NO_CONTENT, Bytes::new());
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("content-type, authorization, x-api-key"),
    );
    headers.insert(
        "access-control-max-age",
        HeaderValue::from_static("1728000"),
    );
    response
}

/// Adapter for hyper's incoming body type: a request on a connection from `peer`.
pub async fn route_incoming(
    request: Request<Incoming>,
    ctx: Arc<HttpContext>,
    peer: SocketAddr,
) -> Result<Response<Body>, std::convert::Infallible> {
    Ok(route_from(request, &ctx, Some(peer)).await)
}
