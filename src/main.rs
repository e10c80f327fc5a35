//! `vmq-node`: args → `Config::load` → `node::start` → wait for a signal → drain.

use std::path::PathBuf;
use std::process::ExitCode;

use vmq_node::config::Config;
use vmq_node::node;

const USAGE: &str = "Usage: vmq-node [--config FILE] [--print-config]

  Runs a broker node. Without --config it runs on embedded defaults (HTTP API on 127.0.0.1:8888).
  DOCKER_VERNEMQ_<KEY> environment variables override config keys ('.' written as '__').
";

fn main() -> ExitCode {
    let mut config_file: Option<PathBuf> = None;
    let mut print_config = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => config_file = args.next().map(PathBuf::from),
            "--print-config" => print_config = true,
            "--help" | "-h" => return usage(0),
            "--version" | "-V" => {
                println!("vmq-node {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            other => match other.strip_prefix("--config=") {
                Some(path) => config_file = Some(PathBuf::from(path)),
                None => return usage(64),
            },
        }
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = match Config::load(config_file.as_deref(), &env) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("vmq-node: configuration error: {error}");
            return ExitCode::from(78);
        }
    };
    if print_config {
        print!("{}", config.print());
        return ExitCode::SUCCESS;
    }
    let log = vmq_node::logging::init(config.log_level());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("vmq-node: cannot start the runtime: {error}");
            return ExitCode::from(71);
        }
    };
    ExitCode::from(runtime.block_on(node::run(config, &env, log)))
}

fn usage(code: u8) -> ExitCode {
    eprint!("{USAGE}");
    ExitCode::from(code)
}
