//! API-key authentication of one request: Basic user name or `x-api-key`, checked against the vault snapshot.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;
use vmq_actors::Scope;

use crate::admin::audit::masked_key;
use crate::config::{AuthMode, HttpListener, HttpModule};
use crate::node::Node;

/// Whether the request may use `module` on `listener` (contract §4). Reads snapshots only,
/// allocates nothing.
pub fn is_authorized(
    node: &Node,
    listener: &HttpListener,
    module: HttpModule,
    headers: &HeaderMap,
) -> bool {
    check(node, listener, module, headers, |_| ()).is_some()
}

/// [`is_authorized`], and who got in: `Some(None)` when the module needs no key,
/// `Some(Some(caller))` with the key masked when a key opened it, `None` when refused.
pub fn authorized_caller(
    node: &Node,
    listener: &HttpListener,
    module: HttpModule,
    headers: &HeaderMap,
) -> Option<Option<String>> {
    check(node, listener, module, headers, masked_key)
}

/// `Some(None)` for a module without auth, `Some(Some(seen(key)))` for an accepted key.
fn check<R>(
    node: &Node,
    listener: &HttpListener,
    module: HttpModule,
    headers: &HeaderMap,
    seen: impl FnOnce(&[u8]) -> R,
) -> Option<Option<R>> {
    if node
        .settings
        .read(|config| config.auth_mode(listener, module))
        == AuthMode::NoAuth
    {
        return Some(None);
    }
    let mut buffer = [0u8; MAX_BASIC_CREDENTIALS];
    let key = presented_key(headers, &mut buffer)?;
    node.vault
        .authorize(key, scope_of(module), Utc::now())
        .then(|| Some(seen(key)))
}

/// Decoded Basic credentials longer than this are refused (no key is that long).
const MAX_BASIC_CREDENTIALS: usize = 1024;

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
/// yields none), else the `x-api-key` header verbatim. Decodes into `buffer`.
fn presented_key<'a>(headers: &'a HeaderMap, buffer: &'a mut [u8]) -> Option<&'a [u8]> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        return basic_user(value.as_bytes(), buffer);
    }
    headers.get("x-api-key").map(|value| value.as_bytes())
}

fn basic_user<'a>(header: &[u8], buffer: &'a mut [u8]) -> Option<&'a [u8]> {
    let (scheme, rest) = header.split_at(header.iter().position(|&b| b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let length = STANDARD.decode_slice(rest.trim_ascii(), buffer).ok()?;
    let decoded = buffer.get(..length)?;
    let user_end = decoded.iter().position(|&b| b == b':').unwrap_or(length);
    decoded.get(..user_end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn key(headers: &HeaderMap) -> Option<Vec<u8>> {
        let mut buffer = [0u8; MAX_BASIC_CREDENTIALS];
        presented_key(headers, &mut buffer).map(<[u8]>::to_vec)
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_str(value).expect("valid header"));
        map
    }

    #[test]
    fn basic_user_name_is_the_key() {
        let with_password = format!("Basic {}", STANDARD.encode("KEY:ignored"));
        assert_eq!(
            key(&headers("authorization", &with_password)),
            Some(b"KEY".to_vec())
        );
        let without_colon = format!("basic {}", STANDARD.encode("KEY"));
        assert_eq!(
            key(&headers("authorization", &without_colon)),
            Some(b"KEY".to_vec())
        );
    }

    #[test]
    fn other_schemes_and_garbage_give_no_key() {
        assert_eq!(key(&headers("authorization", "Bearer KEY")), None);
        assert_eq!(key(&headers("authorization", "Basic !!!")), None);
        assert_eq!(key(&headers("authorization", "Basic")), None);
        assert_eq!(key(&HeaderMap::new()), None);
        let huge = format!(
            "Basic {}",
            STANDARD.encode("k".repeat(4 * MAX_BASIC_CREDENTIALS))
        );
        assert_eq!(key(&headers("authorization", &huge)), None);
    }

    #[test]
    fn x_api_key_when_no_authorization_header() {
        assert_eq!(key(&headers("x-api-key", "KEY")), Some(b"KEY".to_vec()));
    }
}
