//! Command-line flags, environment variables and the configuration file (`circlekeeper --help`
//! lists them). A setting comes from the first of: its flag, its environment variable, the
//! TOML file named by `--config` (or `CIRCLEKEEPER_CONFIG`), its default.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use clap::Parser;

use crate::server::{Settings, ADDRESS_BURST_SECS};

/// How to run the server.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "circlekeeper",
    version,
    about = "Runs peer coaching circles in real time.",
    args_override_self = true
)]
pub struct Config {
    /// A TOML file of settings, keyed by flag name with underscores (`data_dir = "/var/lib/x"`,
    /// `retention_days = 30`); flags and environment variables override it.
    #[arg(long, env = "CIRCLEKEEPER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "CIRCLEKEEPER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory of the embedded sled store (unused with `--store postgres://…`).
    #[arg(
        long,
        env = "CIRCLEKEEPER_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Where rooms are stored: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` for PostgreSQL
    /// (schema migrations run at start; the password is never logged), or unset for the
    /// embedded sled store under --data-dir (the default).
    #[arg(
        long,
        env = "CIRCLEKEEPER_STORE",
        hide_env_values = true,
        global = true
    )]
    pub store: Option<StoreUrl>,

    /// With PostgreSQL: this node's name among the nodes sharing the database, in their leases
    /// and its log (default: `HOSTNAME:PORT`). A node restarted under the same name takes its
    /// rooms back at once; under another, after their leases expire. Two running nodes must
    /// not share one.
    #[arg(long, env = "CIRCLEKEEPER_NODE_ID", value_parser = node_id)]
    pub node_id: Option<String>,

    /// With PostgreSQL: seconds a node's lease on a room or series lasts unless renewed (every
    /// third of it). When a node dies, other nodes take its rooms over once this has passed.
    #[arg(long, env = "CIRCLEKEEPER_LEASE_SECS", default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub lease_secs: u64,

    /// Public base URL used in the links the server hands out (default: http://ADDR):
    /// `http://` or `https://`, a host, and optionally a port and a path.
    #[arg(long, env = "CIRCLEKEEPER_PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<String>,

    /// How far back, in seconds, a reconnecting client gets its missed events one by one.
    #[arg(long, env = "CIRCLEKEEPER_RESUME_WINDOW_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(600..))]
    pub resume_window_secs: u64,

    /// How many days an ended room is kept before it is deleted from disk.
    #[arg(long, env = "CIRCLEKEEPER_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub retention_days: u64,

    /// How many days a series is kept after its last session was opened (or since it was
    /// created, if none was) once every session has ended; then it is deleted from disk with
    /// its rooms.
    #[arg(long, env = "CIRCLEKEEPER_SERIES_RETENTION_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub series_retention_days: u64,

    /// Seconds without any frame (not even a pong) after which a connection is closed.
    #[arg(long, env = "CIRCLEKEEPER_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub idle_timeout_secs: u64,

    /// The community host's key: lists every room and series and downloads any summary or
    /// report over HTTP (`/api/host/...`). Without it those endpoints answer 403.
    #[arg(long, env = "CIRCLEKEEPER_HOST_KEY", hide_env_values = true, value_parser = host_key)]
    pub host_key: Option<String>,

    /// Origins (`https://host[:port]`) whose pages may open websockets, besides the public
    /// URL's own; comma-separated. `*` allows any page and clients that send no `Origin`.
    #[arg(long, env = "CIRCLEKEEPER_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = allowed_origin)]
    pub allowed_origins: Vec<String>,

    /// Reverse proxies (IP addresses, comma-separated) whose `X-Forwarded-For` names the
    /// client; the per-address limits then count that client, not the proxy.
    #[arg(long, env = "CIRCLEKEEPER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Connections one address (IPv4, or IPv6 /64) may hold at once; more get 429.
    #[arg(long, env = "CIRCLEKEEPER_MAX_CONNECTIONS_PER_IP", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections_per_ip: u64,

    /// Rooms the server holds at most, ended rooms within their retention included; opening
    /// more gets 503.
    #[arg(long, env = "CIRCLEKEEPER_MAX_ROOMS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_rooms: u64,

    /// Rooms one address may open per hour (series rooms included); more get 429.
    #[arg(long, env = "CIRCLEKEEPER_ROOMS_PER_IP_PER_HOUR", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rooms_per_ip_per_hour: u32,

    /// Wrong room ids, keys or tokens one address may give before it is refused for a while.
    #[arg(long, env = "CIRCLEKEEPER_MAX_FAILED_ENTRIES", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_failed_entries: u32,

    /// Once refused, an address is forgiven one wrong entry per this many seconds.
    #[arg(long, env = "CIRCLEKEEPER_FAILED_ENTRY_FORGIVE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub failed_entry_forgive_secs: u64,

    /// Websocket frames per second one address may send over all its connections together,
    /// reconnects included, in bursts of up to 15 seconds' worth; more get `rate_limited`.
    #[arg(long, env = "CIRCLEKEEPER_FRAMES_PER_IP_PER_SECOND", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub frames_per_ip_per_second: u32,

    /// Seconds a client has to send its HTTP request headers, and after a websocket upgrade its
    /// first command (`join`, `host`, `member` or `resume`).
    #[arg(long, env = "CIRCLEKEEPER_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub handshake_timeout_secs: u64,

    /// Outgoing webhooks that series hosts configure: `on` (the default) lets the server post
    /// to whatever address a host gives (within `--webhook-allow`); `off` sends none.
    #[arg(long, env = "CIRCLEKEEPER_WEBHOOKS", value_enum, default_value_t = OnOff::On)]
    pub webhooks: OnOff,

    /// Host names (comma-separated, e.g. `hooks.slack.com,chat.example.org`) webhooks may be
    /// sent to; without it any host a series host gives.
    #[arg(long, env = "CIRCLEKEEPER_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Vec<String>,

    /// Serve a damaged store's intact rooms: without it, a sled store that lost records its
    /// manifest names is refused at start (exit 65); with it, the damaged rooms answer
    /// `room_unavailable` and are never written to.
    #[arg(long, env = "CIRCLEKEEPER_SERVE_INTACT")]
    pub serve_intact: bool,

    /// Log filter, in `tracing` env-filter syntax (e.g. `info`, `info,circlekeeper=debug`). A
    /// directive that does not parse, or a lone word that is neither a level (`off`, `error`,
    /// `warn`, `info`, `debug`, `trace`) nor a `circlekeeper` target, stops the server.
    #[arg(long, env = "CIRCLEKEEPER_LOG", default_value = "info", value_parser = log_filter)]
    pub log: String,

    /// Log line format: `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, env = "CIRCLEKEEPER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Run a tool instead of the server.
    #[command(subcommand)]
    pub command: Option<Tool>,
}

/// A PostgreSQL connection URL (`postgres://` or `postgresql://`). Printed (`Display`, `Debug`)
/// with its password replaced by `***`, so it can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl(String);

impl StoreUrl {
    /// The whole URL, password included: only to connect.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for StoreUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<StoreUrl, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(StoreUrl(s.to_string()))
        } else {
            Err("expected a PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE".into())
        }
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("postgres", &self.0));
        // The user information ends at the last `@` before the path.
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        match rest[..authority_end].rfind('@') {
            Some(at) => {
                let user = rest[..at].split(':').next().unwrap_or_default();
                let hidden = if rest[..at].contains(':') { ":***" } else { "" };
                write!(f, "{scheme}://{user}{hidden}{}", &rest[at..])
            }
            None => write!(f, "{scheme}://{rest}"),
        }
    }
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (fields, span fields, level, target, timestamp).
    Json,
}

/// A feature turned on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    /// Turned on.
    On,
    /// Turned off.
    Off,
}

/// Tools run instead of the server: `export` (no server may hold the store), `backup` (while it
/// runs), `restore` (into a store no server uses); `completions` and `man` print what is
/// generated from these flags.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Tool {
    /// Write a backup of every room and series to one file (mode 0600: it holds everything
    /// people wrote, in plaintext), while the server runs. With `--store postgres://…` the
    /// database is read directly; with `--data-dir` a running server is asked for it (through
    /// the `admin.json` it keeps in its data directory), or the store is read directly when
    /// no server holds it. The file is written under a temporary name and renamed only once
    /// it is complete and checked.
    Backup {
        /// The backup file to write (replaced if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a backup into an empty store: `--data-dir` (sled, created if missing; no server
    /// may be running on it) or `--store postgres://…`. Also how a store moves between sled
    /// and PostgreSQL. The whole file is checked first (a damaged, truncated or newer backup
    /// is refused and nothing is written); a store that holds rooms or series is refused.
    Restore {
        /// The backup file to read.
        file: PathBuf,
    },
    /// Write a session's summary, a series report or a date range report from the data
    /// directory (stop the server first: the store allows one process at a time). Give exactly
    /// one of `--room`, `--series`, or `--from` with `--to`.
    Export {
        /// The room id: that session's summary.
        #[arg(long, conflicts_with_all = ["series", "from", "to"], required_unless_present_any = ["series", "from"])]
        room: Option<String>,
        /// The series id: the series report.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        series: Option<String>,
        /// With `--to`: the report over every room opened from this instant (included): a date
        /// `YYYY-MM-DD` (midnight UTC), `YYYY-MM-DDTHH:MM[:SS[.mmm]]Z`, or epoch milliseconds.
        #[arg(long, requires = "to", value_parser = instant)]
        from: Option<u64>,
        /// With `--from`: to this instant (not included), written the same ways.
        #[arg(long, requires = "from", value_parser = instant)]
        to: Option<u64>,
        /// `json`, `markdown`, `csv` or `html` (one self-contained page, to print or keep).
        #[arg(long, default_value = "json")]
        format: String,
        /// For `csv`: a summary's `attendance` (default), `stages`, `pairs`, `commitments`,
        /// `follow_ups` or `session`; a report's `sessions` (default), `members` or `pairs`.
        #[arg(long)]
        table: Option<String>,
        /// Show names as pseudonyms ("Participant 3" in a summary, "Member 5" and "Guest 2" in
        /// a report).
        #[arg(long)]
        pseudonymise: bool,
        /// The language of Markdown, CSV and HTML headings and built-in texts: `en`, `es` or `de`.
        #[arg(long, default_value = "en", value_parser = lang)]
        lang: crate::texts::Lang,
    },
    /// Verify the store offline (stop the server first): every record read and decrypted,
    /// every room rebuilt, the manifest compared. Prints a summary and each problem; exits 0
    /// when sound, 65 when damaged, 78 when a newer circlekeeper wrote it. Changes nothing (a
    /// sled store is checked on a temporary copy).
    Check,
    /// Print a completion script for a shell to standard output, e.g.
    /// `circlekeeper completions bash > /usr/share/bash-completion/completions/circlekeeper`.
    Completions {
        /// The shell: `bash`, `zsh`, `fish`, `elvish` or `powershell`.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output, e.g.
    /// `circlekeeper man > /usr/share/man/man1/circlekeeper.1`.
    Man,
}

/// Write what `completions` or `man` asks for to `out`: `Ok(true)` when `tool` was one of
/// them (the process then has nothing more to do), `Ok(false)` for anything else. Both are
/// generated from the same clap definition the binary parses.
pub fn write_cli_docs(tool: Option<&Tool>, out: &mut dyn std::io::Write) -> std::io::Result<bool> {
    use clap::CommandFactory;
    let mut command = Config::command();
    match tool {
        Some(Tool::Completions { shell }) => {
            clap_complete::generate(*shell, &mut command, "circlekeeper", out);
            Ok(true)
        }
        Some(Tool::Man) => {
            command.build();
            clap_mangen::Man::new(command.clone()).render(out)?;
            // One page: each tool with its own flags, in a section of its own (clap_mangen
            // writes those parts as sections; here they become subsections).
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = sub.get_name().to_uppercase();
                writeln!(out, ".SH \"CIRCLEKEEPER {name}\"")?;
                let man = clap_mangen::Man::new(sub.clone());
                let mut part = Vec::new();
                man.render_description_section(&mut part)?;
                man.render_options_section(&mut part)?;
                let part = String::from_utf8_lossy(&part)
                    .replace(".SH DESCRIPTION\n", "")
                    .replace(".SH OPTIONS", ".SS Options");
                out.write_all(part.as_bytes())?;
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// An instant on the command line: a date, a UTC time or epoch ms (see `export --from`).
fn instant(s: &str) -> Result<u64, String> {
    crate::export::dates::parse_instant(s).ok_or_else(|| {
        format!("{s:?}: a date YYYY-MM-DD, a time YYYY-MM-DDTHH:MM:SSZ (UTC) or epoch milliseconds")
    })
}

/// A language of the server's texts: `en`, `es` or `de`.
fn lang(s: &str) -> Result<crate::texts::Lang, String> {
    crate::texts::Lang::parse(s).ok_or_else(|| format!("{s:?}: en, es or de"))
}

/// A node id: 1–64 characters of letters, digits, `-`, `_`, `.` and `:`.
fn node_id(s: &str) -> Result<String, String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if (1..=64).contains(&s.len()) && s.chars().all(fine) {
        Ok(s.to_string())
    } else {
        Err("a node id is 1–64 letters, digits, '-', '_', '.' or ':'".into())
    }
}

/// A public URL: what browsers can open, so that links work and the server's own origin is
/// allowed to open websockets.
fn public_url(s: &str) -> Result<String, String> {
    match crate::server::guard::origin_of(s) {
        Some(_) => Ok(s.to_string()),
        None => Err(format!(
            "{s:?}: a public URL is http:// or https://, a host, and optionally a port and a path"
        )),
    }
}

/// One allowed origin, `*`, or `https://host[:port]` (a path would never match an `Origin`);
/// an empty item (`CIRCLEKEEPER_ALLOWED_ORIGINS=` set to nothing) allows nothing more.
fn allowed_origin(s: &str) -> Result<String, String> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let bare = trimmed.trim_end_matches('/');
    let has_path = bare
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains(['/', '?', '#']));
    if trimmed == "*" || (!has_path && crate::server::guard::origin_of(bare).is_some()) {
        Ok(trimmed.to_string())
    } else {
        Err(format!(
            "{s:?}: an origin is `*` or http(s)://host[:port], without a path"
        ))
    }
}

/// The community host's key: not empty (an empty key would open the host endpoints to an
/// empty key).
fn host_key(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("the host key is empty; leave it unset to turn the host endpoints off".into())
    } else {
        Ok(s.to_string())
    }
}

/// A log filter that `tracing` accepts whole, naming the first directive it does not. A lone
/// word must be a level or a `circlekeeper` target: `tracing` would read a misspelt level
/// (`inf`) as a target and silently turn every other log line off.
fn log_filter(s: &str) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    if s.trim().is_empty() {
        return Err("the log filter is empty; `off` turns logging off".into());
    }
    for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if let Err(e) = directive.parse::<tracing_subscriber::filter::Directive>() {
            return Err(format!("directive {directive:?} is not valid: {e}"));
        }
        let lone = !directive.contains(['=', '[', ':']);
        let level = LEVELS.contains(&directive.to_ascii_lowercase().as_str())
            || matches!(directive, "0" | "1" | "2" | "3" | "4" | "5");
        if lone && !level && !directive.starts_with("circlekeeper") {
            return Err(format!(
                "directive {directive:?} is neither a level ({}) nor a circlekeeper target; \
                 for another target at every level write `{directive}=trace`",
                LEVELS.join(", ")
            ));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(s)
        .map(|_| s.to_string())
        .map_err(|e| format!("{s:?} is not a log filter: {e}"))
}

impl Config {
    /// This node's id: `--node-id`, or `HOSTNAME:PORT` of the address it listens on (a
    /// restart on the same machine and port is the same node).
    pub fn node(&self, listening: SocketAddr) -> String {
        if let Some(id) = &self.node_id {
            return id.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| node_id(h).is_ok())
            .unwrap_or_else(|| "node".into());
        let id = format!("{host}:{}", listening.port());
        node_id(&id).unwrap_or_else(|_| format!("node:{}", listening.port()))
    }
}

/// The settings a configuration file may hold: every flag of the server, by name with
/// underscores, with the environment variable that overrides it.
const FILE_KEYS: &[(&str, &str)] = &[
    ("addr", "CIRCLEKEEPER_ADDR"),
    ("data_dir", "CIRCLEKEEPER_DATA_DIR"),
    ("store", "CIRCLEKEEPER_STORE"),
    ("node_id", "CIRCLEKEEPER_NODE_ID"),
    ("lease_secs", "CIRCLEKEEPER_LEASE_SECS"),
    ("public_url", "CIRCLEKEEPER_PUBLIC_URL"),
    ("resume_window_secs", "CIRCLEKEEPER_RESUME_WINDOW_SECS"),
    ("retention_days", "CIRCLEKEEPER_RETENTION_DAYS"),
    (
        "series_retention_days",
        "CIRCLEKEEPER_SERIES_RETENTION_DAYS",
    ),
    ("idle_timeout_secs", "CIRCLEKEEPER_IDLE_TIMEOUT_SECS"),
    ("host_key", "CIRCLEKEEPER_HOST_KEY"),
    ("allowed_origins", "CIRCLEKEEPER_ALLOWED_ORIGINS"),
    ("trusted_proxies", "CIRCLEKEEPER_TRUSTED_PROXIES"),
    (
        "max_connections_per_ip",
        "CIRCLEKEEPER_MAX_CONNECTIONS_PER_IP",
    ),
    ("max_rooms", "CIRCLEKEEPER_MAX_ROOMS"),
    (
        "rooms_per_ip_per_hour",
        "CIRCLEKEEPER_ROOMS_PER_IP_PER_HOUR",
    ),
    ("max_failed_entries", "CIRCLEKEEPER_MAX_FAILED_ENTRIES"),
    (
        "failed_entry_forgive_secs",
        "CIRCLEKEEPER_FAILED_ENTRY_FORGIVE_SECS",
    ),
    (
        "frames_per_ip_per_second",
        "CIRCLEKEEPER_FRAMES_PER_IP_PER_SECOND",
    ),
    (
        "handshake_timeout_secs",
        "CIRCLEKEEPER_HANDSHAKE_TIMEOUT_SECS",
    ),
    ("webhooks", "CIRCLEKEEPER_WEBHOOKS"),
    ("webhook_allow", "CIRCLEKEEPER_WEBHOOK_ALLOW"),
    ("serve_intact", "CIRCLEKEEPER_SERVE_INTACT"),
    ("log", "CIRCLEKEEPER_LOG"),
    ("log_format", "CIRCLEKEEPER_LOG_FORMAT"),
];

impl Config {
    /// Parse the process's arguments, environment and configuration file.
    /// `--help`, `--version` and flag errors print as clap prints them and exit (0 for help).
    pub fn load() -> anyhow::Result<Config> {
        match Config::load_from(std::env::args_os().collect(), |k| std::env::var_os(k)) {
            Ok(c) => Ok(c),
            Err(e) => match e.downcast::<clap::Error>() {
                Ok(flags) => flags.exit(),
                Err(e) => Err(e),
            },
        }
    }

    /// Parse `args` (the program name first), reading the environment through `env`: the
    /// configuration file's settings become flags placed before the given ones (which then
    /// override them), except where the environment sets that setting.
    pub fn load_from(
        args: Vec<std::ffi::OsString>,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> anyhow::Result<Config> {
        use anyhow::Context;
        // Where the file is: a `--config` flag (last one wins), else the environment.
        let mut path = env("CIRCLEKEEPER_CONFIG").map(PathBuf::from);
        let mut it = args.iter().skip(1);
        while let Some(a) = it.next() {
            let a = a.to_string_lossy();
            if a == "--config" {
                path = it.next().map(PathBuf::from);
            } else if let Some(p) = a.strip_prefix("--config=") {
                path = Some(PathBuf::from(p));
            }
        }
        let mut from_file = Vec::new();
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            let table: toml::Table = text.parse().with_context(|| {
                format!(
                    "the configuration file {} is not valid TOML",
                    path.display()
                )
            })?;
            for (key, value) in &table {
                let Some(&(_, var)) = FILE_KEYS.iter().find(|(k, _)| k == key) else {
                    let known: Vec<&str> = FILE_KEYS.iter().map(|(k, _)| *k).collect();
                    anyhow::bail!(
                        "{}: unknown setting `{key}`; the settings are {}",
                        path.display(),
                        known.join(", ")
                    );
                };
                if env(var).is_some() {
                    continue; // the environment overrides the file
                }
                let value = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    // A switch (`serve_intact = true`): named when true, left out when false.
                    toml::Value::Boolean(true) => {
                        from_file.push(format!("--{}", key.replace('_', "-")).into());
                        continue;
                    }
                    toml::Value::Boolean(false) => continue,
                    toml::Value::Array(items) => {
                        let mut list = Vec::with_capacity(items.len());
                        for item in items {
                            let Some(text) = item.as_str() else {
                                anyhow::bail!(
                                    "{}: `{key}` must list strings, not {}",
                                    path.display(),
                                    item.type_str()
                                );
                            };
                            list.push(text.to_string());
                        }
                        list.join(",")
                    }
                    other => anyhow::bail!(
                        "{}: `{key}` must be a string, a whole number, true or false, or a list of strings, not {}",
                        path.display(),
                        other.type_str()
                    ),
                };
                from_file.push(format!("--{}", key.replace('_', "-")).into());
                from_file.push(value.into());
            }
        }
        let mut all = Vec::with_capacity(args.len() + from_file.len());
        all.extend(args.first().cloned());
        all.extend(from_file);
        all.extend(args.into_iter().skip(1));
        Ok(Config::try_parse_from(all)?)
    }

    /// The server settings these flags describe.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::new(&self.public_url());
        s.resume_window = Duration::from_secs(self.resume_window_secs);
        s.retention = Duration::from_secs(self.retention_days * 24 * 3600);
        s.series_retention = Duration::from_secs(self.series_retention_days * 24 * 3600);
        s.idle_timeout = Duration::from_secs(self.idle_timeout_secs);
        s.ping_every = s.idle_timeout / 3;
        s.host_key = self.host_key.clone();
        s.allowed_origins = self.allowed_origins.clone();
        s.trusted_proxies = self.trusted_proxies.clone();
        s.max_connections_per_ip =
            usize::try_from(self.max_connections_per_ip).unwrap_or(usize::MAX);
        s.max_rooms = usize::try_from(self.max_rooms).unwrap_or(usize::MAX);
        s.rooms_per_ip_per_hour = self.rooms_per_ip_per_hour;
        s.max_failed_entries = self.max_failed_entries;
        s.failed_entry_forgive = Duration::from_secs(self.failed_entry_forgive_secs);
        s.handshake_timeout = Duration::from_secs(self.handshake_timeout_secs);
        s.address_rate_per_second = f64::from(self.frames_per_ip_per_second);
        s.address_rate_burst = s.address_rate_per_second * ADDRESS_BURST_SECS;
        s.webhooks.enabled = self.webhooks == OnOff::On;
        s.webhooks.allow = self
            .webhook_allow
            .iter()
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        s
    }

    /// The base URL for links.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("circlekeeper")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("circlekeeper.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path.display().to_string())
    }

    const FILE: &str = r#"
addr = "127.0.0.1:9090"
data_dir = "/var/lib/circlekeeper"
retention_days = 7
log_format = "json"
host_key = "from-the-file"
allowed_origins = ["https://circles.example.org", "https://intranet.example.org"]
max_connections_per_ip = 32
"#;

    #[test]
    fn the_frame_rate_per_address_sets_its_burst_too() {
        let c = Config::load_from(args(&[]), |_| None).expect("loads");
        let defaults = Settings::new("http://127.0.0.1:8080");
        assert_eq!(
            c.settings().address_rate_per_second,
            defaults.address_rate_per_second
        );
        assert_eq!(c.settings().address_rate_burst, defaults.address_rate_burst);
        let c = Config::load_from(args(&["--frames-per-ip-per-second", "100"]), |_| None)
            .expect("loads");
        assert_eq!(c.settings().address_rate_per_second, 100.0);
        assert_eq!(c.settings().address_rate_burst, 1500.0);
    }

    #[test]
    fn the_file_sets_what_flags_and_the_environment_do_not() {
        let (_dir, path) = file(FILE);
        let c = Config::load_from(args(&["--config", &path, "--retention-days", "14"]), |_| {
            None
        })
        .expect("loads");
        assert_eq!(c.addr.to_string(), "127.0.0.1:9090");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/circlekeeper"));
        assert_eq!(c.retention_days, 14, "the flag overrides the file");
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(
            c.allowed_origins,
            [
                "https://circles.example.org",
                "https://intranet.example.org"
            ],
            "a list in the file"
        );
        assert_eq!(c.settings().max_connections_per_ip, 32);
        assert_eq!(c.settings().max_rooms, 20_000);
        assert_eq!(
            c.idle_timeout_secs, 60,
            "what nobody sets keeps its default"
        );
        // The environment overrides the file: the key is left to clap's environment reading.
        let c = Config::load_from(args(&["--config", &path]), |k| {
            (k == "CIRCLEKEEPER_HOST_KEY").then(|| "from-the-environment".into())
        })
        .expect("loads");
        assert_ne!(c.host_key.as_deref(), Some("from-the-file"));
        assert_eq!(c.retention_days, 7);
    }

    #[test]
    fn a_switch_in_the_file_is_true_or_false() {
        let (_dir, path) = file("serve_intact = true\n");
        let c = Config::load_from(args(&["--config", &path]), |_| None).expect("loads");
        assert!(c.serve_intact);
        let (_dir, path) = file("serve_intact = false\n");
        let c = Config::load_from(args(&["--config", &path]), |_| None).expect("loads");
        assert!(!c.serve_intact);
    }

    #[test]
    fn a_bad_file_is_refused_with_a_clear_message() {
        let (_dir, path) = file("retention = 7\n");
        let e = Config::load_from(args(&["--config", &path]), |_| None)
            .expect_err("an unknown key")
            .to_string();
        assert!(e.contains("unknown setting `retention`"), "{e}");
        assert!(e.contains("retention_days"), "names the settings: {e}");

        let (_dir, path) = file("retention_days = 0\n");
        let e = Config::load_from(args(&["--config", &path]), |_| None)
            .expect_err("out of range")
            .to_string();
        assert!(e.contains("retention-days"), "{e}");

        let (_dir, path) = file("addr = [1, 2]\n");
        let e = Config::load_from(args(&["--config", &path]), |_| None)
            .expect_err("an array")
            .to_string();
        assert!(e.contains("`addr` must list strings"), "{e}");

        let e = Config::load_from(
            args(&["--config", "/nonexistent/circlekeeper.toml"]),
            |_| None,
        )
        .expect_err("no file")
        .to_string();
        assert!(e.contains("cannot read the configuration file"), "{e}");

        let (_dir, path) = file("addr = \"127.0.0.1:1\"\nnot toml");
        let e = Config::load_from(args(&["--config", &path]), |_| None)
            .expect_err("not TOML")
            .to_string();
        assert!(e.contains("not valid TOML"), "{e}");
    }

    #[test]
    fn the_store_url_comes_from_flag_env_or_file_and_prints_without_its_password() {
        let (_dir, path) = file("store = \"postgres://ck:file-secret@db:5432/ck\"\n");
        let c = Config::load_from(args(&["--config", &path]), |_| None).expect("parses");
        let url = c.store.expect("a store");
        assert_eq!(url.secret(), "postgres://ck:file-secret@db:5432/ck");
        assert_eq!(url.to_string(), "postgres://ck:***@db:5432/ck");
        assert!(!format!("{url:?}").contains("file-secret"));
        let url: StoreUrl = "postgresql://a:p@w@h/d?x=@".parse().expect("a URL");
        assert_eq!(url.to_string(), "postgresql://a:***@h/d?x=@");
        let c = Config::load_from(args(&["--store", "postgres://h/d"]), |_| None).expect("parses");
        assert_eq!(c.store.expect("a store").to_string(), "postgres://h/d");
        assert!(Config::load_from(args(&["--store", "mysql://h/d"]), |_| None).is_err());
        let c = Config::load_from(args(&[]), |_| None).expect("parses");
        assert!(c.store.is_none(), "the default is the embedded store");
    }

    #[test]
    fn without_a_file_the_defaults_hold() {
        let c = Config::load_from(args(&[]), |_| None).expect("loads");
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.retention_days, 30);
        assert!(c.config.is_none());
    }
}
