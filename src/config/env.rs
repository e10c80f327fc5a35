//! Environment overrides in the docker-vernemq convention: `DOCKER_VERNEMQ_<KEY>`, where KEY is
//! the config key upper-cased with `.` written as `__` (`DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT`).
//!
//! Because the mapping back lower-cases the name, a listener name with capitals cannot be set
//! from the environment; use the config file for those.

/// Env var holding an API key the node creates at start (not a config key).
pub const BOOTSTRAP_KEY_ENV: &str = "DOCKER_VERNEMQ_API_KEY";
/// Env var holding the scope of [`BOOTSTRAP_KEY_ENV`]'s key (not a config key).
pub const BOOTSTRAP_SCOPE_ENV: &str = "DOCKER_VERNEMQ_API_KEY_SCOPE";

/// docker-vernemq variables that are not config keys either (the image's own switches).
const IMAGE_SWITCHES: &[&str] = &["DOCKER_VERNEMQ_ACCEPT_EULA"];

const PREFIX: &str = "DOCKER_VERNEMQ_";

/// What an environment variable means to the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvVar {
    /// A config override for this key (which may still be unknown to the schema).
    Override(String),
    /// Not ours: no `DOCKER_VERNEMQ_` prefix, or a bootstrap variable read elsewhere.
    Ignored,
}

/// Classifies one variable name.
pub fn classify(name: &str) -> EnvVar {
    if name == BOOTSTRAP_KEY_ENV || name == BOOTSTRAP_SCOPE_ENV || IMAGE_SWITCHES.contains(&name) {
        return EnvVar::Ignored;
    }
    match name.strip_prefix(PREFIX) {
        Some(rest) => EnvVar::Override(rest.to_ascii_lowercase().replace("__", ".")),
        None => EnvVar::Ignored,
    }
}

/// The variable that overrides `key`.
#[cfg(test)]
pub fn var_for_key(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('.', "__").to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_keys() {
        assert_eq!(
            classify("DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT"),
            EnvVar::Override("listener.tcp.default".to_owned())
        );
        assert_eq!(
            classify("DOCKER_VERNEMQ_ALLOW_ANONYMOUS"),
            EnvVar::Override("allow_anonymous".to_owned())
        );
        assert_eq!(
            classify("DOCKER_VERNEMQ_VMQ_ACL__ACL_FILE"),
            EnvVar::Override("vmq_acl.acl_file".to_owned())
        );
    }

    #[test]
    fn bootstrap_and_foreign_variables_are_ignored() {
        for name in [
            BOOTSTRAP_KEY_ENV,
            BOOTSTRAP_SCOPE_ENV,
            "PATH",
            "VERNEMQ_X",
            "docker_vernemq_x",
        ] {
            assert_eq!(classify(name), EnvVar::Ignored, "{name}");
        }
    }

    #[test]
    fn keys_map_back_to_names() {
        for key in [
            "listener.tcp.default",
            "allow_anonymous",
            "log.console.level",
        ] {
            assert_eq!(
                classify(&var_for_key(key)),
                EnvVar::Override(key.to_owned())
            );
        }
    }
}
