//! The integration tests: real nodes on 127.0.0.1:0, a real HTTP client, the built binaries.

mod process;
mod raw;
mod support;

mod api_v2;
mod bad_input_connections;
mod bad_input_http;
mod binaries;
mod cli_output;
mod cli_socket;
mod health;
mod keys;
mod listener_transports;
mod listeners;
mod mqtt;
mod mqtt_auth;
mod mqtt_bad_input;
mod mqtt_delivery;
mod mqtt_edges;
mod mqtt_malformed;
mod mqtt_support;
mod mqtt_v5;
mod mqtt_wire;
mod node_status;
mod plugins;
mod retain_cmds;
mod router;
mod session_cmds;
mod sessions;
mod status_codes;
mod tls;
mod trace;
