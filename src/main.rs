//! The `circlekeeper` binary: parse the configuration, open the store, restore rooms, serve,
//! and shut down cleanly on Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use circlekeeper::config::{Config, LogFormat};
use circlekeeper::store::{PgStore, Store};
use circlekeeper::{serve, AppState, Clock};
use tracing::{error, info, warn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_default();
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }

    if let Some(circlekeeper::config::Tool::Export {
        room,
        series,
        from,
        to,
        format,
        table,
        pseudonymise,
        lang,
    }) = &config.command
    {
        let store = open_store(&config, "stop the server first", None)?;
        let names = if *pseudonymise {
            circlekeeper::export::Names::Pseudonymised
        } else {
            circlekeeper::export::Names::Shown
        };
        let text = export(
            store.as_ref(),
            Export {
                room: room.as_deref(),
                series: series.as_deref(),
                range: from.zip(*to),
                format,
                table: table.as_deref(),
                names,
                lang: *lang,
            },
        )?;
        print!("{text}");
        return Ok(());
    }

    if let Some(circlekeeper::config::Tool::Check) = &config.command {
        let url = config.store.as_ref().map(|u| u.secret().to_string());
        std::process::exit(circlekeeper::check::run(&config.data_dir, url.as_deref()));
    }

    let listener = circlekeeper::listen(config.addr)
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let addr = listener.local_addr()?;
    let store = open_store(&config, "is another circlekeeper using it?", Some(addr))?;
    let mut settings = config.settings();
    if config.public_url.is_none() {
        // The bound address (`--addr 127.0.0.1:0` picks a port): links and the websocket
        // Origin check must name the port actually served.
        settings.public_url = format!("http://{addr}");
        if addr.ip().is_unspecified() {
            warn!(
                public_url = %settings.public_url,
                "no --public-url: links will name an address browsers cannot open, and the \
                 websocket Origin check will refuse every page; set --public-url"
            );
        }
    }
    let state = AppState::start(store, Clock::System, settings)
        .context("cannot restore the rooms in the store")?;
    match &config.store {
        Some(url) => info!(
            %addr,
            store = %url,
            node = state.node_id().unwrap_or_default(),
            "circlekeeper listening"
        ),
        None => info!(%addr, data_dir = %config.data_dir.display(), "circlekeeper listening"),
    }

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    shutdown_signal().await;
    info!("shutting down: telling clients to reconnect");
    let _ = stop.send(());
    state.shutdown().await;
    let grace = state.settings().shutdown_grace;
    if tokio::time::timeout(grace, server).await.is_err() {
        info!("connections did not close within the grace; exiting anyway");
    }
    info!("circlekeeper stopped");
    Ok(())
}

/// What `circlekeeper export` was asked for.
struct Export<'a> {
    room: Option<&'a str>,
    series: Option<&'a str>,
    range: Option<(u64, u64)>,
    format: &'a str,
    table: Option<&'a str>,
    names: circlekeeper::export::Names,
    lang: circlekeeper::texts::Lang,
}

/// A session's summary, a series report or a date range report, rendered, from the store.
fn export(store: &dyn Store, e: Export<'_>) -> anyhow::Result<String> {
    use circlekeeper::export::{self, range, series};
    if let Some(room) = e.room {
        let summary = export::from_store(store, room, e.names)?;
        let table = e.table.unwrap_or("attendance");
        return Ok(export::render(&summary, e.format, table, e.lang)?);
    }
    let table = e.table.unwrap_or("sessions");
    let report = match (e.series, e.range) {
        (Some(id), _) => {
            let record = store
                .series_record(id)?
                .ok_or_else(|| anyhow::anyhow!("no series {id} in this store"))?;
            let rooms = record.sessions.iter().map(|s| s.room_id.as_str());
            let summaries = range::stored(store, rooms)?;
            series::report(&record, &summaries, e.names)
        }
        (None, Some((from, to))) => {
            anyhow::ensure!(from < to, "--from must be before --to");
            let summaries = range::summaries_in_range(store, from, to)?;
            range::range_report(from, to, &summaries, e.names, e.lang)
        }
        (None, None) => anyhow::bail!("give --room, --series, or --from with --to"),
    };
    Ok(series::render(&report, e.format, table, e.lang)?)
}

/// The exit status when the PostgreSQL store cannot be opened (`EX_UNAVAILABLE` of
/// sysexits.h): the database is down, refuses the connection, or has a newer schema.
const STORE_UNAVAILABLE: i32 = 69;

/// Open the store the configuration names: PostgreSQL for `--store postgres://…`, else the
/// embedded sled store under `--data-dir` (created if missing; `busy` says what to check when
/// it is locked). The server (listening on `node`) opens PostgreSQL as one of several nodes,
/// with leases; the offline tools only read. A PostgreSQL store that cannot be opened ends the process with
/// [`STORE_UNAVAILABLE`] and a message naming the URL without its password.
fn open_store(
    config: &Config,
    busy: &str,
    node: Option<std::net::SocketAddr>,
) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = &config.store {
        let opened = match node {
            Some(addr) => {
                let lease = std::time::Duration::from_secs(config.lease_secs);
                PgStore::open_node(url.secret(), &config.node(addr), lease)
            }
            None => PgStore::open(url.secret()),
        };
        return match opened {
            Ok(store) => Ok(Arc::new(store)),
            Err(e) => {
                error!(store = %url, error = %e, "cannot open the PostgreSQL store");
                eprintln!("error: cannot open the PostgreSQL store at {url}: {e}");
                std::process::exit(STORE_UNAVAILABLE);
            }
        };
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let store = circlekeeper::check::open_for_serving(&config.data_dir, config.serve_intact)
        .map_err(circlekeeper::store::StoreError::from)
        .with_context(|| {
            format!(
                "cannot open the store in {} ({busy})",
                config.data_dir.display()
            )
        })?;
    Ok(Arc::new(store))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
