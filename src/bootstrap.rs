//! The first API keys without a running CLI: `api_key_file` and `DOCKER_VERNEMQ_API_KEY`, imported at start.

use chrono::Local;
use vmq_actors::vault::{KeyPolicy, VaultError};
use vmq_actors::{ApiKey, Scope};

use crate::admin::api_key::parse_expiry;
use crate::config::{Config, BOOTSTRAP_KEY_ENV, BOOTSTRAP_SCOPE_ENV};
use crate::node::{Node, StartError};

/// One key to import and where it came from (for error messages).
struct Import {
    origin: String,
    key: ApiKey,
    scope: Scope,
    expires: Option<chrono::DateTime<chrono::Utc>>,
}

/// Adds every bootstrap key that is not there yet. A malformed line or a key the vault refuses
/// stops the node (exit 78): starting without the key the operator asked for would lock them out.
pub async fn import_keys(
    node: &Node,
    config: &Config,
    env: &[(String, String)],
) -> Result<(), StartError> {
    let mut imports = Vec::new();
    if let Some(path) = config.api_key_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StartError::Config(format!("api_key_file {}: {e}", path.display())))?;
        for (index, line) in text.lines().enumerate() {
            let origin = format!("api_key_file {} line {}", path.display(), index + 1);
            if let Some(import) = parse_line(line, origin).map_err(StartError::Config)? {
                imports.push(import);
            }
        }
    }
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some(key) = lookup(BOOTSTRAP_KEY_ENV).filter(|k| !k.is_empty()) {
        let scope_text = lookup(BOOTSTRAP_SCOPE_ENV).unwrap_or("mgmt");
        let scope = scope_text
            .parse()
            .map_err(|e| StartError::Config(format!("{BOOTSTRAP_SCOPE_ENV}: {e}")))?;
        imports.push(Import {
            origin: BOOTSTRAP_KEY_ENV.to_owned(),
            key: ApiKey::new(key),
            scope,
            expires: None,
        });
    }
    let policy = KeyPolicy {
        min_length: config.min_apikey_length(),
        max_expiry_days: config.max_apikey_expiry_days(),
    };
    for import in imports {
        match node
            .vault
            .add(import.key, import.scope, import.expires, policy)
            .await
        {
            Ok(()) | Err(VaultError::KeyExists { .. }) => {}
            // A restarted member of a cluster without a quorum still serves the keys it has.
            Err(error @ VaultError::Cluster(_)) => {
                tracing::warn!(origin = %import.origin, %error, "bootstrap key not imported");
            }
            Err(error) => return Err(StartError::Config(format!("{}: {error}", import.origin))),
        }
    }
    Ok(())
}

/// `KEY [scope] [expires]`; blank lines and `#` comments give `None`.
fn parse_line(line: &str, origin: String) -> Result<Option<Import>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut fields = line.split_whitespace();
    let key = fields.next().unwrap_or_default();
    let scope = match fields.next() {
        Some(text) => text.parse().map_err(|e| format!("{origin}: {e}"))?,
        None => Scope::Mgmt,
    };
    let expires = fields
        .next()
        .map(|text| parse_expiry(text, &Local))
        .transpose()
        .map_err(|e| format!("{origin}: {e}"))?;
    if let Some(extra) = fields.next() {
        return Err(format!(
            "{origin}: unexpected '{extra}': write KEY [scope] [expires]"
        ));
    }
    Ok(Some(Import {
        origin,
        key: ApiKey::new(key),
        scope,
        expires,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<Import>, String> {
        parse_line(line, "test".to_owned())
    }

    #[test]
    fn lines_give_key_scope_and_expiry() {
        let import = parse("  abc  api2 2030-01-01T00:00:00Z ")
            .expect("valid")
            .expect("a key");
        assert_eq!(import.key.expose(), "abc");
        assert_eq!(import.scope, Scope::Api2);
        assert!(import.expires.is_some());
        let plain = parse("abc").expect("valid").expect("a key");
        assert_eq!(plain.scope, Scope::Mgmt);
        assert!(parse("# comment").expect("valid").is_none());
        assert!(parse("").expect("valid").is_none());
    }

    #[test]
    fn bad_lines_name_the_problem() {
        assert!(parse("abc nope")
            .err()
            .unwrap_or_default()
            .contains("unknown scope"));
        assert!(parse("abc mgmt never")
            .err()
            .unwrap_or_default()
            .contains("invalid expires"));
        assert!(parse("abc mgmt 2030-01-01T00:00:00Z x")
            .err()
            .unwrap_or_default()
            .contains("unexpected"));
    }
}
