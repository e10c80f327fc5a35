//! Tests of the whole config: loading, env overrides, listeners, `set`, `show`, `print`.

mod apply;
mod listeners;
mod load;
mod mqtt_listeners;
mod overrides;

use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};

/// The name tests give the config text in errors.
const SOURCE: &str = "test.conf";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn config_with_env(text: &str, pairs: &[(&str, &str)]) -> Config {
    match Config::from_text(text, SOURCE, &env(pairs)) {
        Ok(config) => config,
        Err(error) => panic!("config refused: {error}"),
    }
}

fn config(text: &str) -> Config {
    config_with_env(text, &[])
}

fn error_with_env(text: &str, pairs: &[(&str, &str)]) -> ConfigError {
    match Config::from_text(text, SOURCE, &env(pairs)) {
        Ok(config) => panic!("config accepted: {config:?}"),
        Err(error) => error,
    }
}

fn error(text: &str) -> ConfigError {
    error_with_env(text, &[])
}

/// A directory holding stand-ins for PEM files (the config checks only that they exist).
struct PemFiles {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

impl PemFiles {
    fn new() -> Self {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(error) => panic!("no temp dir: {error}"),
        };
        let write = |name: &str| {
            let path = dir.path().join(name);
            if let Err(error) = std::fs::write(&path, "-----BEGIN CERTIFICATE-----\n") {
                panic!("cannot write {name}: {error}");
            }
            path
        };
        let (cert, key, ca) = (write("cert.pem"), write("key.pem"), write("ca.pem"));
        Self {
            _dir: dir,
            cert,
            key,
            ca,
        }
    }

    /// Config lines declaring an HTTPS listener `name` with certfile and keyfile.
    fn https_listener(&self, name: &str, addr: &str) -> String {
        format!(
            "listener.https.{name} = {addr}\nlistener.https.{name}.certfile = {}\nlistener.https.{name}.keyfile = {}\n",
            self.cert.display(),
            self.key.display()
        )
    }
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}
