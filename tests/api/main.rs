//! The integration tests: real nodes on 127.0.0.1:0, a real HTTP client, the built binaries.

mod support;

mod bad_input;
mod binaries;
mod cli;
mod health;
mod keys;
mod mqtt;
mod mqtt_edges;
mod mqtt_support;
mod router;
mod status_codes;
mod tls;
