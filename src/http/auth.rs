//! API-key authentication of one request: Basic user name or `x-api-key`, checked against the vault snapshot.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;
use vmq_actors::Scope;

use crate::config::{AuthMode, HttpListener, HttpModule};
use crate::node::Node;

/// Whether the request may use `module` on `listener` (contract §4). Reads snapshots only.
pub fn is_authorized(
    node: &Node,
    listener: &HttpListener,
    module: HttpModule,
    headers: &HeaderMap,
) -> bool {
    if node.config().auth_mode(listener, module) == AuthMode::NoAuth {
        return true;
    }
    match presented_key(headers) {
        Some(key) => node
            .vault
            .snapshot()
            .authorize(&key, scope_of(module), Utc::now()),
        None => false,
    }
}

/// The scope that opens each module.
pub fn scope_of(module: HttpModule) -> Scope {
    match module {
        HttpModule::MgmtApi => Scope::Mgmt,
        HttpModule::V2Api => Scope::Api2,
        HttpModule::Metrics => Scope::Metrics,
        HttpModule::Status => Scope::Status,
        HttpModule::Health => Scope::Health,
    }
}

/// The key: the Basic user name if an `Authorization` header is present (any other scheme
/// yields none), else the `x-api-key` header verbatim.
fn presented_key(headers: &HeaderMap) -> Option<Vec<u8>> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        return basic_user(value.as_bytes());
    }
    headers
        .get("x-api-key")
        .map(|value| value.as_bytes().to_vec())
}

fn basic_user(header: &[u8]) -> Option<Vec<u8>> {
    let (scheme, rest) = header.split_at(header.iter().position(|&b| b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim_ascii()).ok()?;
    let user_end = decoded
        .iter()
        .position(|&b| b == b':')
        .unwrap_or(decoded.len());
    let mut user = decoded;
    user.truncate(user_end);
    Some(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).expect("valid header"));
        map
    }

    #[test]
    fn basic_user_name_is_the_key() {
        let with_password = format!("Basic {}", STANDARD.encode("KEY:ignored"));
        assert_eq!(
            presented_key(&headers("authorization", &with_password)),
            Some(b"KEY".to_vec())
        );
        let without_colon = format!("basic {}", STANDARD.encode("KEY"));
        assert_eq!(
            presented_key(&headers("authorization", &without_colon)),
            Some(b"KEY".to_vec())
        );
    }

    #[test]
    fn other_schemes_and_garbage_give_no_key() {
        assert_eq!(presented_key(&headers("authorization", "Bearer KEY")), None);
        assert_eq!(presented_key(&headers("authorization", "Basic !!!")), None);
        assert_eq!(presented_key(&headers("authorization", "Basic")), None);
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }

    #[test]
    fn x_api_key_when_no_authorization_header() {
        assert_eq!(
            presented_key(&headers("x-api-key", "KEY")),
            Some(b"KEY".to_vec())
        );
    }
}
