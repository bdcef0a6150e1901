//! The `circlekeeper` binary: parse the configuration, open the store, restore rooms, serve,
//! and shut down cleanly on Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use circlekeeper::backup::tool::{self as backups, Place, Via};
use circlekeeper::config::{Config, LogFormat, Tool};
use circlekeeper::store::{OpenMode, PgStore, Reopening, Store};
use circlekeeper::{serve, AppState, Clock};
use tracing::{error, info, warn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    if circlekeeper::config::write_cli_docs(config.command.as_ref(), &mut std::io::stdout())? {
        return Ok(());
    }
    // `--log` was checked when parsed (config::log_filter); a filter tracing still refuses
    // stops the server rather than turning every log line off.
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .with_context(|| format!("--log {:?} is not a log filter", config.log))?;
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

    if let Some(Tool::Check) = &config.command {
        let url = config.store.as_ref().map(|u| u.secret().to_string());
        std::process::exit(circlekeeper::check::run(&config.data_dir, url.as_deref()));
    }

    if let Some(tool @ (Tool::Backup { .. } | Tool::Restore { .. })) = &config.command {
        let shown = config.store.as_ref().map(ToString::to_string);
        let place = match (&config.store, &shown) {
            (Some(url), Some(shown)) => Place::Postgres {
                url: url.secret(),
                shown,
            },
            _ => Place::Sled(&config.data_dir),
        };
        return backup_or_restore(tool, place);
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
    // The operator's way in for backups of the sled store, which only this process may open.
    let admin = match &config.store {
        Some(_) => None,
        None => {
            let (file, hash) =
                circlekeeper::backup::admin::AdminFile::publish(&config.data_dir, addr)
                    .context("cannot write admin.json in the data directory")?;
            settings.admin_token_hash = Some(hash);
            Some(file)
        }
    };
    let state = match AppState::start(store, Clock::System, settings) {
        Ok(state) => state,
        Err(e) => {
            if let Some(a) = admin {
                let _ = a.remove();
            }
            return Err(e).context("cannot restore the rooms in the store");
        }
    };
    // Registered before the server says it listens: a SIGTERM that comes right after that
    // line is a graceful shutdown, never the default action (killed without a flush).
    let signals = shutdown_signals();
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
    signals.await;
    if let Some(Err(e)) = admin.map(|a| a.remove()) {
        warn!(error = %e, "admin.json could not be removed");
    }
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

/// `circlekeeper backup` or `circlekeeper restore` on the store at `place`: what was done,
/// printed; an error ends the process with status 1 and its message.
fn backup_or_restore(tool: &Tool, place: Place<'_>) -> anyhow::Result<()> {
    match tool {
        Tool::Backup { out } => {
            let now = Clock::System.now();
            let (counts, via) = backups::backup(place, out, now)
                .with_context(|| format!("backup to {} failed", out.display()))?;
            let how = match via {
                Via::Server(addr) => format!("streamed from the server at {addr}"),
                Via::Store => "read from the store".to_string(),
            };
            println!("backed up {counts} to {} ({how})", out.display());
        }
        Tool::Restore { file } => {
            let counts = backups::restore(place, file)
                .with_context(|| format!("restore from {} failed", file.display()))?;
            println!("restored {counts} from {}", file.display());
        }
        _ => anyhow::bail!("not a backup tool"),
    }
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
    let mode = if config.serve_intact {
        OpenMode::ServeIntact
    } else {
        OpenMode::Serve
    };
    Ok(Arc::new(Reopening::sled(store, &config.data_dir, mode)))
}

/// Registers for Ctrl-C and SIGTERM at once (not when first polled); the future resolves on
/// either.
fn shutdown_signals() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        async fn one(signal: Option<Signal>) {
            match signal {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let term = one(signal(SignalKind::terminate()).ok());
        let interrupt = one(signal(SignalKind::interrupt()).ok());
        async move {
            tokio::select! {
                _ = term => {},
                _ = interrupt => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
