//! The server's abuse limits at the door, per client address: which address a request comes
//! from (through trusted reverse proxies), connection slots, rooms opened per hour, wrong room
//! ids, keys and tokens, websocket frames per address (shared by all its connections), and the
//! `Origin` allowlist of websocket upgrades.
//!
//! Addresses are counted as IPv4 addresses or IPv6 /64 networks (one household or one phone
//! network's customer gets a /64, and rotating through it must not buy a fresh allowance).
//! Everything here is in memory: a restart forgives everyone.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use circlekeeper_protocol::ErrorCode;
use dashmap::DashMap;

use super::api::ApiError;
use super::{AppState, Settings};
use crate::metrics::Limit;

/// How often full allowances and empty slots are forgotten.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The key an address is counted under: an IPv4 address, or the /64 of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Addr(IpAddr);

impl Addr {
    /// The counting key of `ip` (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn of(ip: IpAddr) -> Addr {
        match ip {
            IpAddr::V4(v4) => Addr(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Addr(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Addr(IpAddr::V6(Ipv6Addr::from(bits)))
                }
            },
        }
    }
}

/// A token bucket that refills continuously: `burst` deep, `per_second` back.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    tokens: f64,
    at: Instant,
}

impl Allowance {
    /// A full allowance.
    pub fn full(burst: f64, now: Instant) -> Allowance {
        Allowance {
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, burst: f64, per_second: f64, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * per_second;
        self.tokens = (self.tokens + gained).min(burst);
        self.at = now;
    }

    /// Whether a token is left (`Err` with how long until one is).
    pub fn check(&mut self, burst: f64, per_second: f64, now: Instant) -> Result<(), Duration> {
        self.refill(burst, per_second, now);
        if self.tokens >= 1.0 {
            Ok(())
        } else if per_second > 0.0 {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / per_second))
        } else {
            Err(Duration::MAX)
        }
    }

    /// Spend a token (never below empty).
    pub fn spend(&mut self, burst: f64, per_second: f64, now: Instant) {
        self.refill(burst, per_second, now);
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// Whether it has refilled to `burst` (and can be forgotten).
    fn is_full(&mut self, burst: f64, per_second: f64, now: Instant) -> bool {
        self.refill(burst, per_second, now);
        self.tokens >= burst
    }
}

/// Which limit refused a request, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The stable code.
    pub code: ErrorCode,
    /// When to try again (whole seconds, at least 1).
    pub retry_after_secs: u64,
}

impl Refusal {
    fn after(code: ErrorCode, wait: Duration) -> Refusal {
        let secs = wait.as_secs_f64().ceil().clamp(1.0, 86_400.0) as u64;
        Refusal {
            code,
            retry_after_secs: secs,
        }
    }

    /// The human message for the refusal.
    pub fn message(&self) -> String {
        let wait = self.retry_after_secs;
        match self.code {
            ErrorCode::TooManyConnections => format!(
                "too many connections from your address: close some, or try again in {wait} s"
            ),
            ErrorCode::TooManyRooms => {
                format!("your address opened too many rooms this hour: try again in {wait} s")
            }
            ErrorCode::TooManyAttempts => format!(
                "too many wrong links from your address: check the link, and try again in {wait} s"
            ),
            _ => "refused".into(),
        }
    }

    /// The refusal as an HTTP error (429 with `Retry-After`).
    pub fn into_api_error(self) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, self.code, self.message())
            .retry_after(self.retry_after_secs)
    }
}

/// One connection's place in its address's count; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<DashMap<Addr, usize>>,
    addr: Addr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let empty = match self.slots.get_mut(&self.addr) {
            Some(mut n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => false,
        };
        if empty {
            self.slots.remove_if(&self.addr, |_, n| *n == 0);
        }
    }
}

/// A connection's slot, handed from the accept loop to the websocket task that takes it over
/// (so an upgraded connection keeps counting after its HTTP exchange ends).
#[derive(Debug, Clone, Default)]
pub struct SlotCell(Arc<Mutex<Option<Slot>>>);

impl SlotCell {
    /// A cell holding `slot`.
    pub fn new(slot: Option<Slot>) -> SlotCell {
        SlotCell(Arc::new(Mutex::new(slot)))
    }

    /// Take the slot out (once).
    pub fn take(&self) -> Option<Slot> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// The per-address counts of one server.
#[derive(Debug, Default)]
pub struct Guard {
    /// Open connections per address (shared with each [`Slot`], which gives its place back).
    slots: Arc<DashMap<Addr, usize>>,
    rooms: DashMap<Addr, Allowance>,
    attempts: DashMap<Addr, Allowance>,
    /// The websocket frames each address may still send, shared by all its connections: a
    /// reconnect, or a new name in the room, does not refill it.
    address_frames: DashMap<Addr, Allowance>,
    /// The frame allowance of people whose connection ended, by room and participant: a
    /// reconnect picks up where the last connection left off rather than with a full burst.
    frames: DashMap<(String, u32), FrameAllowance>,
}

/// What is left of a person's frame allowance when their connection ended.
#[derive(Debug, Clone, Copy)]
pub struct FrameAllowance {
    /// Frames they could still send then.
    pub tokens: f64,
    /// When.
    pub at: Instant,
    /// Frames refused since their allowance was last whole.
    pub strikes: u32,
}

impl Guard {
    /// A connection slot for `ip`, or `too_many_connections` when it holds `max` already.
    pub fn open(&self, ip: IpAddr, max: usize) -> Result<Slot, Refusal> {
        let addr = Addr::of(ip);
        let mut n = self.slots.entry(addr).or_insert(0);
        if *n >= max {
            return Err(Refusal::after(
                ErrorCode::TooManyConnections,
                Duration::from_secs(10),
            ));
        }
        *n += 1;
        Ok(Slot {
            slots: Arc::clone(&self.slots),
            addr,
        })
    }

    /// How many connections `ip` holds.
    pub fn connections(&self, ip: IpAddr) -> usize {
        self.slots.get(&Addr::of(ip)).map_or(0, |n| *n)
    }

    /// Whether `ip` may open a room (`too_many_rooms` when its hourly allowance is spent).
    pub fn may_open_room(&self, ip: IpAddr, per_hour: u32, now: Instant) -> Result<(), Refusal> {
        let (burst, rate) = hourly(per_hour);
        match self.rooms.get_mut(&Addr::of(ip)) {
            Some(mut a) => a
                .check(burst, rate, now)
                .map_err(|wait| Refusal::after(ErrorCode::TooManyRooms, wait)),
            None if per_hour == 0 => Err(Refusal::after(ErrorCode::TooManyRooms, Duration::MAX)),
            None => Ok(()),
        }
    }

    /// Count a room opened by `ip`.
    pub fn opened_room(&self, ip: IpAddr, per_hour: u32, now: Instant) {
        let (burst, rate) = hourly(per_hour);
        self.rooms
            .entry(Addr::of(ip))
            .or_insert_with(|| Allowance::full(burst, now))
            .spend(burst, rate, now);
    }

    /// Whether `ip` may try a room id, key or token now (`too_many_attempts` when it gave too
    /// many wrong ones lately). The key is not checked while this refuses.
    pub fn may_attempt(&self, ip: IpAddr, s: &Settings, now: Instant) -> Result<(), Refusal> {
        let (burst, rate) = forgiving(s);
        match self.attempts.get_mut(&Addr::of(ip)) {
            Some(mut a) => a
                .check(burst, rate, now)
                .map_err(|wait| Refusal::after(ErrorCode::TooManyAttempts, wait)),
            None => Ok(()),
        }
    }

    /// Count a wrong room id, key or token from `ip`.
    pub fn failed_attempt(&self, ip: IpAddr, s: &Settings, now: Instant) {
        let (burst, rate) = forgiving(s);
        self.attempts
            .entry(Addr::of(ip))
            .or_insert_with(|| Allowance::full(burst, now))
            .spend(burst, rate, now);
    }

    /// Take one frame from the allowance `ip` shares across all its connections; `false` (and
    /// nothing taken) when it is spent.
    pub fn take_frame(&self, ip: IpAddr, s: &Settings, now: Instant) -> bool {
        let (burst, rate) = (s.address_rate_burst, s.address_rate_per_second);
        let mut allowance = self
            .address_frames
            .entry(Addr::of(ip))
            .or_insert_with(|| Allowance::full(burst, now));
        if allowance.check(burst, rate, now).is_err() {
            return false;
        }
        allowance.spend(burst, rate, now);
        true
    }

    /// The allowance a person's last connection left, if it is not whole again yet (their new
    /// connection starts from it).
    pub fn frames_left(&self, room: &str, who: u32) -> Option<FrameAllowance> {
        self.frames
            .remove(&(room.to_string(), who))
            .map(|(_, left)| left)
    }

    /// Keep what a person's connection left of its frame allowance, for their next one.
    pub fn keep_frames(&self, room: &str, who: u32, left: FrameAllowance) {
        self.frames.insert((room.to_string(), who), left);
    }

    /// Forget addresses and people whose allowances are whole again (bounds the maps by recent
    /// activity).
    pub fn prune(&self, s: &Settings, now: Instant) {
        let (burst, rate) = (s.rate_burst, s.rate_per_second);
        self.frames
            .retain(|_, f| f.tokens + now.duration_since(f.at).as_secs_f64() * rate < burst);
        let (burst, rate) = hourly(s.rooms_per_ip_per_hour);
        self.rooms.retain(|_, a| !a.is_full(burst, rate, now));
        let (burst, rate) = forgiving(s);
        self.attempts.retain(|_, a| !a.is_full(burst, rate, now));
        let (burst, rate) = (s.address_rate_burst, s.address_rate_per_second);
        self.address_frames
            .retain(|_, a| !a.is_full(burst, rate, now));
        self.slots.retain(|_, n| *n > 0);
    }
}

fn hourly(per_hour: u32) -> (f64, f64) {
    (f64::from(per_hour), f64::from(per_hour) / 3600.0)
}

fn forgiving(s: &Settings) -> (f64, f64) {
    let every = s.failed_entry_forgive.as_secs_f64();
    let rate = if every > 0.0 { 1.0 / every } else { f64::MAX };
    (f64::from(s.max_failed_entries), rate)
}

/// Answer a connection refused at the door with `429` and its code, then close it. Bounded: a
/// client that does not read is dropped after a second.
pub async fn refuse(mut tcp: tokio::net::TcpStream, refusal: Refusal) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body =
        serde_json::json!({ "code": refusal.code, "message": refusal.message() }).to_string();
    let head = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         retry-after: {}\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n",
        refusal.retry_after_secs,
        body.len()
    );
    let answer = async {
        tcp.write_all(head.as_bytes()).await?;
        tcp.write_all(body.as_bytes()).await?;
        tcp.shutdown().await?;
        // Read what the client sent, so that closing does not reset the connection before
        // it has read the answer.
        let mut sink = [0u8; 4096];
        let mut read = 0;
        while read < 64 * 1024 {
            match tcp.read(&mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

/// Middleware for the HTTP endpoints that check a room id, series id, key or token: refused
/// with `too_many_attempts` while the client's address is locked out (the key is not looked
/// at), and a wrong one (403 or 404) counts against the address.
pub async fn entries(
    State(app): State<AppState>,
    client: ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let settings = app.settings();
    if let Err(refusal) = app.guard().may_attempt(client.ip, settings, Instant::now()) {
        app.metrics().refused(Limit::Attempts);
        return refusal.into_api_error().into_response();
    }
    let response = next.run(request).await;
    if matches!(
        response.status(),
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ) {
        app.guard()
            .failed_attempt(client.ip, settings, Instant::now());
    }
    response
}

/// Middleware for the endpoints that open a room: `server_full` when the server holds
/// [`Settings::max_rooms`], `too_many_rooms` when the client's address has opened its hourly
/// allowance; a room opened (201) is counted.
pub async fn room_quota(
    State(app): State<AppState>,
    client: ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let settings = app.settings();
    if app.held_rooms() >= settings.max_rooms {
        app.metrics().refused(Limit::Rooms);
        let message = "this server holds as many rooms as it may: try again later".to_string();
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerFull,
            message,
        )
        .retry_after(60)
        .into_response();
    }
    let per_hour = settings.rooms_per_ip_per_hour;
    if let Err(refusal) = app
        .guard()
        .may_open_room(client.ip, per_hour, Instant::now())
    {
        app.metrics().refused(Limit::RoomsPerAddress);
        return refusal.into_api_error().into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::CREATED {
        app.guard().opened_room(client.ip, per_hour, Instant::now());
    }
    response
}

/// Where a request comes from: the peer's address, or, when the peer is a trusted reverse
/// proxy, the client it names in `X-Forwarded-For` (the rightmost address that is not itself a
/// trusted proxy).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// The client address of a request, as an extractor ([`client_ip`] over the connection's peer).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp {
    /// The client's address.
    pub ip: IpAddr,
    /// Whether the connection came through a trusted reverse proxy.
    pub via_proxy: bool,
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<ClientIp, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let trusted = &app.settings().trusted_proxies;
        Ok(ClientIp {
            ip: client_ip(peer, &parts.headers, trusted),
            via_proxy: trusted.contains(&peer),
        })
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, lower case, default port left out.
pub fn origin_of(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(format!("{scheme}://{authority}"))
}

/// The origins a websocket upgrade may come from. `None` means any (and none).
pub fn allowed_origins(s: &Settings) -> Option<BTreeSet<String>> {
    if s.allowed_origins.iter().any(|o| o.trim() == "*") {
        return None;
    }
    let mut set: BTreeSet<String> = s
        .allowed_origins
        .iter()
        .filter_map(|o| origin_of(o))
        .collect();
    if let Some(own) = origin_of(&s.public_url) {
        // The server's own pages, under any loopback name when it is served on loopback.
        if let Some((scheme, authority)) = own.split_once("://") {
            // A port is digits after the last colon (`[::1]` alone has none).
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    (h, format!(":{p}"))
                }
                _ => (authority, String::new()),
            };
            let loopback = ["localhost", "127.0.0.1", "[::1]"];
            if loopback.contains(&host) {
                for name in loopback {
                    set.insert(format!("{scheme}://{name}{port}"));
                }
            }
        }
        set.insert(own);
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let c: IpAddr = "2001:db8:1:3::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        assert_eq!(Addr::of(a), Addr::of(b));
        assert_ne!(Addr::of(a), Addr::of(c));
        let mapped: IpAddr = "::ffff:10.0.0.7"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        assert_eq!(Addr::of(mapped), Addr::of("10.0.0.7".parse().unwrap_or(a)));
    }

    #[test]
    fn allowances_refill_at_their_rate() {
        let t0 = Instant::now();
        let mut a = Allowance::full(2.0, t0);
        assert!(a.check(2.0, 0.5, t0).is_ok());
        a.spend(2.0, 0.5, t0);
        a.spend(2.0, 0.5, t0);
        let wait = a.check(2.0, 0.5, t0).err();
        assert_eq!(wait, Some(Duration::from_secs(2)));
        assert!(a.check(2.0, 0.5, t0 + Duration::from_millis(1999)).is_err());
        assert!(a.check(2.0, 0.5, t0 + Duration::from_secs(2)).is_ok());
        assert!(!a.is_full(2.0, 0.5, t0 + Duration::from_secs(3)));
        assert!(a.is_full(2.0, 0.5, t0 + Duration::from_secs(4)));
    }

    #[test]
    fn wrong_entries_are_refused_after_the_allowance_then_forgiven() {
        let mut s = Settings::new("http://127.0.0.1:8080");
        s.max_failed_entries = 3;
        s.failed_entry_forgive = Duration::from_secs(10);
        let g = Guard::default();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(g.may_attempt(ip, &s, t0).is_ok());
            g.failed_attempt(ip, &s, t0);
        }
        let refused = g.may_attempt(ip, &s, t0).err();
        assert_eq!(
            refused.map(|r| (r.code, r.retry_after_secs)),
            Some((ErrorCode::TooManyAttempts, 10))
        );
        assert!(
            g.may_attempt(other, &s, t0).is_ok(),
            "another address is unaffected"
        );
        assert!(g.may_attempt(ip, &s, t0 + Duration::from_secs(10)).is_ok());
        g.prune(&s, t0 + Duration::from_secs(29));
        assert_eq!(g.attempts.len(), 1, "not yet whole again");
        g.prune(&s, t0 + Duration::from_secs(30));
        assert_eq!(g.attempts.len(), 0);
    }

    #[test]
    fn an_address_shares_one_frame_allowance_until_it_is_whole_again() {
        let mut s = Settings::new("http://127.0.0.1:8080");
        s.address_rate_burst = 3.0;
        s.address_rate_per_second = 2.0;
        let g = Guard::default();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let t0 = Instant::now();
        let taken = (0..5).filter(|_| g.take_frame(ip, &s, t0)).count();
        assert_eq!(taken, 3, "the burst");
        assert!(g.take_frame(other, &s, t0), "another address has its own");
        assert!(!g.take_frame(ip, &s, t0 + Duration::from_millis(499)));
        assert!(g.take_frame(ip, &s, t0 + Duration::from_millis(500)));
        g.prune(&s, t0 + Duration::from_millis(1999));
        assert_eq!(g.address_frames.len(), 1, "only the whole one is forgotten");
        g.prune(&s, t0 + Duration::from_secs(3));
        assert_eq!(g.address_frames.len(), 0);
    }

    #[test]
    fn rooms_per_hour_and_slots() {
        let g = Guard::default();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let t0 = Instant::now();
        for _ in 0..2 {
            assert!(g.may_open_room(ip, 2, t0).is_ok());
            g.opened_room(ip, 2, t0);
        }
        let r = g.may_open_room(ip, 2, t0).err();
        assert_eq!(
            r.map(|r| (r.code, r.retry_after_secs)),
            Some((ErrorCode::TooManyRooms, 1800))
        );
        let a = g.open(ip, 2).ok();
        let b = g.open(ip, 2).ok();
        assert!(a.is_some() && b.is_some());
        assert_eq!(
            g.open(ip, 2).err().map(|r| r.code),
            Some(ErrorCode::TooManyConnections)
        );
        drop(a);
        assert_eq!(g.connections(ip), 1);
        assert!(g.open(ip, 2).is_ok());
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let proxy: IpAddr = [127, 0, 0, 1].into();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.4"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(
            client_ip(proxy, &h, &[]),
            proxy,
            "no trusted proxy: the peer"
        );
        assert_eq!(
            client_ip(proxy, &h, &[proxy]),
            "198.51.100.4".parse::<IpAddr>().unwrap_or(proxy),
            "the rightmost address the proxy saw"
        );
        let inner: IpAddr = "198.51.100.4".parse().unwrap_or(proxy);
        assert_eq!(
            client_ip(proxy, &h, &[proxy, inner]),
            "203.0.113.9".parse::<IpAddr>().unwrap_or(proxy)
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }

    #[test]
    fn origins_are_normalised_and_loopback_names_allowed_together() {
        assert_eq!(
            origin_of("HTTPS://Circles.Example.org:443/"),
            Some("https://circles.example.org".into())
        );
        assert_eq!(
            origin_of("http://a.example:8080/r/x#k"),
            Some("http://a.example:8080".into())
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("file:///x"), None);
        let s = Settings::new("http://127.0.0.1:8080");
        let set = allowed_origins(&s).unwrap_or_default();
        assert!(set.contains("http://localhost:8080"));
        assert!(set.contains("http://[::1]:8080"));
        assert!(!set.contains("http://localhost:8081"));
        let set = allowed_origins(&Settings::new("http://[::1]")).unwrap_or_default();
        assert!(
            set.contains("http://localhost"),
            "a bare [::1] is loopback too: {set:?}"
        );
        let mut s = Settings::new("https://circles.example.org");
        s.allowed_origins = vec!["https://intranet.example.org/".into()];
        let set = allowed_origins(&s).unwrap_or_default();
        assert_eq!(set.len(), 2);
        assert!(set.contains("https://intranet.example.org"));
        s.allowed_origins = vec!["*".into()];
        assert!(allowed_origins(&s).is_none());
    }
}
