//! The settings of a running server: links, timeouts, retention and every limit, with their
//! defaults (the flags, environment variables and configuration file fill them in `config`).

use std::time::Duration;

/// How often ended rooms are checked against their retention, by default
/// ([`Settings::retention_sweep`]).
pub const RETENTION_SWEEP: Duration = Duration::from_secs(3600);

/// How many seconds' worth of its sustained rate one address may send in a burst
/// ([`Settings::address_rate_burst`] from `--frames-per-ip-per-second`).
pub const ADDRESS_BURST_SECS: f64 = 15.0;

/// Settings of a running server (from flags, environment or a test).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of the links the server hands out, without a trailing slash.
    pub public_url: String,
    /// How far back a resume replays missed events one by one (at least ten minutes).
    pub resume_window: Duration,
    /// How long an ended room is kept before it is deleted from disk.
    pub retention: Duration,
    /// How long a series is kept after its last session was opened (or its creation), once
    /// every session has ended; then it is deleted with its rooms.
    pub series_retention: Duration,
    /// How often the server pings a connection.
    pub ping_every: Duration,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// How long a shutdown waits for rooms and the store before giving up.
    pub shutdown_grace: Duration,
    /// Frames a connection may send in a burst: a facilitator clicking fast, or a client
    /// catching up after a reconnect, needs some headroom.
    pub rate_burst: f64,
    /// Frames per second a connection may sustain: people act every few seconds at most.
    pub rate_per_second: f64,
    /// Frames all connections of one address (IPv4, or IPv6 /64) may send in a burst, shared
    /// across its connections and reconnects: a whole room of 64 behind one Wi-Fi coming back
    /// at once (a `resume`, a retried command and a `sync` each) fits. 15 seconds' worth of
    /// [`Settings::address_rate_per_second`] (300) unless a test sets it.
    pub address_rate_burst: f64,
    /// Frames per second one address may sustain across all its connections: a full room in
    /// use sends a few a second (a `sync` each every 30 s, people acting every few seconds);
    /// one flooder reconnecting after each 4029 gets no more than this.
    pub address_rate_per_second: f64,
    /// The community host's key, if the operator set one (`--host-key`).
    pub host_key: Option<String>,
    /// SHA-256 of the operator token that `GET /api/admin/backup` takes (the token itself is
    /// in the data directory's `admin.json`); `None`: backups are not served.
    pub admin_token_hash: Option<[u8; 32]>,
    /// How often ended rooms past their retention are looked for (hourly by default).
    pub retention_sweep: Duration,
    /// How long after a person's last connection closes they turn `away`: a reconnect within
    /// it shows the room nothing (see `live::room::PRESENCE_GRACE_MS`, the default).
    pub presence_grace: Duration,
    /// Origins a websocket upgrade may come from, besides the public URL's own (and its
    /// loopback names when it is on loopback); `*` allows any origin, or none.
    pub allowed_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (their own address does not
    /// count against the per-address limits).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Connections one address (IPv4, or IPv6 /64) may hold at once.
    pub max_connections_per_ip: usize,
    /// Rooms the server holds at most (ended rooms within their retention included).
    pub max_rooms: usize,
    /// Rooms one address may open in an hour (series rooms included).
    pub rooms_per_ip_per_hour: u32,
    /// Wrong room ids, keys or tokens one address may give before it is refused for a while.
    pub max_failed_entries: u32,
    /// After the allowance is spent, one more wrong entry is forgiven per this long.
    pub failed_entry_forgive: Duration,
    /// How long a client has to send its HTTP request headers, and after a websocket upgrade
    /// its first command (`join`, `host`, `member` or `resume`).
    pub handshake_timeout: Duration,
    /// Outgoing webhooks: on or off, the hosts they may go to, how deliveries retry.
    pub webhooks: crate::webhooks::WebhookPolicy,
}

impl Settings {
    /// Defaults, with links under `public_url`.
    pub fn new(public_url: &str) -> Settings {
        Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            resume_window: Duration::from_secs(600),
            retention: Duration::from_secs(30 * 24 * 3600),
            series_retention: Duration::from_secs(365 * 24 * 3600),
            ping_every: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
            rate_burst: 30.0,
            rate_per_second: 10.0,
            address_rate_burst: 20.0 * ADDRESS_BURST_SECS,
            address_rate_per_second: 20.0,
            host_key: None,
            admin_token_hash: None,
            presence_grace: Duration::from_millis(crate::live::room::PRESENCE_GRACE_MS),
            retention_sweep: RETENTION_SWEEP,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            max_connections_per_ip: 256,
            max_rooms: 20_000,
            rooms_per_ip_per_hour: 60,
            max_failed_entries: 20,
            failed_entry_forgive: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            webhooks: crate::webhooks::WebhookPolicy::default(),
        }
    }
}
