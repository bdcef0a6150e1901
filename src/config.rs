//! Command-line flags and environment variables (`circlekeeper --help` lists them).

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use clap::Parser;

use crate::server::Settings;

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

    /// How far back, in seconds, a reconnecting client gets its missed events one by one.
    #[arg(long, env = "CIRCLEKEEPER_RESUME_WINDOW_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(600..))]
    pub resume_window_secs: u64,

    /// How many days an ended room is kept before it is deleted from disk.
    #[arg(long, env = "CIRCLEKEEPER_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub retention_days: u64,

    /// Seconds without any frame (not even a pong) after which a connection is closed.
    #[arg(long, env = "CIRCLEKEEPER_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub idle_timeout_secs: u64,

    /// The community host's key: lists every room and series and downloads any summary or
    /// report over HTTP (`/api/host/...`). Without it those endpoints answer 403.
    #[arg(long, env = "CIRCLEKEEPER_HOST_KEY", hide_env_values = true)]
    pub host_key: Option<String>,

    /// Log filter, in `tracing` env-filter syntax (e.g. `info`, `circlekeeper=debug`).
    #[arg(long, env = "CIRCLEKEEPER_LOG", default_value = "info")]
    pub log: String,

    /// Log line format: `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, env = "CIRCLEKEEPER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Run a tool instead of the server.
    #[command(subcommand)]
    pub command: Option<Tool>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (fields, span fields, level, target, timestamp).
    Json,
}

/// Tools that work on the data directory without a running server.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Tool {
    /// Write a session's summary from the data directory (stop the server first: the store
    /// allows one process at a time).
    Export {
        /// The room id.
        #[arg(long)]
        room: String,
        /// `json`, `markdown` or `csv`.
        #[arg(long, default_value = "json")]
        format: String,
        /// For `csv`: `attendance`, `stages`, `pairs` or `commitments`.
        #[arg(long, default_value = "attendance")]
        table: String,
        /// Show names as pseudonyms ("Participant 3").
        #[arg(long)]
        pseudonymise: bool,
    },
}

impl Config {
    /// The server settings these flags describe.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::new(&self.public_url());
        s.resume_window = Duration::from_secs(self.resume_window_secs);
        s.retention = Duration::from_secs(self.retention_days * 24 * 3600);
        s.idle_timeout = Duration::from_secs(self.idle_timeout_secs);
        s.ping_every = s.idle_timeout / 3;
        s.host_key = self.host_key.clone();
        s
    }

    /// The base URL for links.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }
}
