//! THE table from outcomes to HTTP statuses (contract §6), and the JSON responses built from them.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt as _;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

use crate::admin::{render, AdminError, Reply};

/// The body type of every response.
pub use super::body::Body;

/// The status for each way a command can fail.
pub fn status_of(error: &AdminError) -> StatusCode {
    match error {
        AdminError::UnknownCommand { .. } | AdminError::BadArguments { .. } => {
            StatusCode::BAD_REQUEST
        }
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) => StatusCode::CONFLICT,
        AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response to a command: 200 with its output, or the error's status with its alert.
/// A streaming reply (`trace client`) is sent as it comes.
pub fn command_response(outcome: Result<Reply, AdminError>) -> Response<Body> {
    match outcome {
        Ok(reply) => match reply.take_stream() {
            Some(lines) => streaming(lines),
            None => json(StatusCode::OK, render::to_json(&reply)),
        },
        Err(error) => json(status_of(&error), render::to_json(&error.to_reply())),
    }
}

/// The Prometheus text exposition (`/metrics`).
pub fn prometheus_text(text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// 200 `text/plain`, one chunk per line as the lines come; hanging up drops the lines.
pub fn streaming(lines: BoxStream<'static, String>) -> Response<Body> {
    let chunks = lines.map(|mut line| {
        line.push('\n');
        Bytes::from(line)
    });
    let mut response = Response::new(Body::stream(chunks));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies that buffer (nginx) would hold the lines back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A JSON response.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Body::from(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An alert with one message.
pub fn alert(status: StatusCode, message: &str) -> Response<Body> {
    json(status, render::to_json(&Reply::alert([message])))
}

/// 401 for a missing, unknown, expired or wrong-scope key (contract §4).
pub fn unauthorized() -> Response<Body> {
    let mut response = alert(
        StatusCode::UNAUTHORIZED,
        "missing, unknown or expired API key",
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"VerneMQ\""),
    );
    response
}

/// 405 naming the methods the path accepts.
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = alert(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed here: use {allow}"),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_its_status() {
        let cases = [
            (AdminError::UnknownCommand { usage: "u" }, 400),
            (AdminError::bad_args("x", "u"), 400),
            (AdminError::NotFound("x".into()), 404),
            (AdminError::Conflict("x".into()), 409),
            (AdminError::Unavailable("x".into()), 503),
            (AdminError::Internal("x".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(status_of(&error).as_u16(), status, "{error:?}");
        }
    }

    #[test]
    fn errors_carry_an_alert_body() {
        let response = command_response(Err(AdminError::Internal("boom".into())));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    }

    #[test]
    fn unauthorized_has_the_basic_challenge() {
        let response = unauthorized();
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Basic realm=\"VerneMQ\""
        );
    }
}
