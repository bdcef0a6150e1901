//! Command-line flags and environment variables (`circlekeeper --help` lists them).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// How to run the server.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "circlekeeper",
    version,
    about = "Runs peer coaching circles in real time."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CIRCLEKEEPER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory of the embedded sled store.
    #[arg(long, env = "CIRCLEKEEPER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Public base URL used in the links the server hands out (default: http://ADDR).
    #[arg(long, env = "CIRCLEKEEPER_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Log filter, in `tracing` env-filter syntax (e.g. `info`, `circlekeeper=debug`).
    #[arg(long, env = "CIRCLEKEEPER_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The base URL for links.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }
}
