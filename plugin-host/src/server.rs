//! The composition root: binds the listeners, serves each connection with
//! the proxy or the admin router within the connection limits, runs the
//! background tasks (sweeper, store watch), and shuts down gracefully. The
//! only module that imports both routers and the shared state.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::config::{EnvLookup, FileConfig};
use crate::gateway::{ConfigSource, Shared};
use crate::store::Store;
use crate::tls::ListenerTls;
use crate::{admin, proxy};

/// A started gateway.
#[derive(Debug)]
pub struct Running {
    /// The proxy listener's address.
    pub proxy_addr: SocketAddr,
    /// The admin listener's address.
    pub admin_addr: SocketAddr,
    /// Shared state (for reloads).
    pub shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    connections: Option<mpsc::Sender<()>>,
    finished: mpsc::Receiver<()>,
    grace: Duration,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to the
    /// configured grace), and returns.
    pub async fn shutdown(mut self) {
        self.shared.ready.store(false, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        self.connections = None;
        let _ = tokio::time::timeout(self.grace, self.finished.recv()).await;
        if let Err(error) = self.shared.last_used.flush(self.shared.store.as_ref(), self.shared.clock.now()).await {
            tracing::error!(%error, "the keys' last uses could not be written at shutdown");
        }
    }
}

/// Starts the gateway: opens the store, builds the first runtime, binds
/// both listeners and starts the sweeper.
///
/// # Errors
/// Invalid configuration, a store that cannot be opened, a plugin that
/// cannot be loaded or rejects the configuration, or an address in use.
pub async fn start(source: ConfigSource, env: EnvLookup) -> Result<Running, String> {
    let config = source.load()?;
    let store = crate::store_config::open(&config.store).await?;
    start_with_store(source, env, config, store).await
}

/// [`start`] with a store made by the caller (e.g. a networked one).
///
/// # Errors
/// As [`start`].
pub async fn start_with_store(source: ConfigSource, env: EnvLookup, config: FileConfig, store: Arc<dyn Store>) -> Result<Running, String> {
    let proxy_listener = TcpListener::bind(config.server.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    let admin_listener = TcpListener::bind(config.admin.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.admin.listen))?;
    let proxy_addr = proxy_listener.local_addr().map_err(|e| e.to_string())?;
    let admin_addr = admin_listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Shared::open(source, env, &config, store).await?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (connections, finished) = mpsc::channel(1);
    let header_timeout = config.server.header_timeout();
    let proxy_slots = Arc::new(tokio::sync::Semaphore::new(config.server.max_connections));
    let admin_slots = Arc::new(tokio::sync::Semaphore::new(ADMIN_CONNECTIONS));
    tokio::spawn(accept_loop(proxy_listener, Arc::clone(&shared), header_timeout, shutdown_rx.clone(), connections.clone(), Listener::Proxy, proxy_slots));
    tokio::spawn(accept_loop(admin_listener, Arc::clone(&shared), header_timeout, shutdown_rx.clone(), connections.clone(), Listener::Admin, admin_slots));
    let sweeping = Sweeping { every: Duration::from_secs(config.store.sweep_interval_seconds.max(1)), audit_retention: config.store.audit_retention_events };
    tokio::spawn(sweeper(Arc::clone(&shared), sweeping, shutdown_rx.clone()));
    tokio::spawn(crate::store_watch::task::run(Arc::clone(&shared), shutdown_rx));
    tracing::info!(%proxy_addr, %admin_addr, store = shared.store.name(), checks = config.server.checks, "payseal gateway started");
    if config.admin.tokens.is_empty() {
        tracing::warn!(
            %admin_addr,
            "no admin token is configured, and every admin request but /healthz and /readyz needs one: \
             run `payseal admin-token --name NAME` and add the [[admin.tokens]] lines it prints to the configuration, then restart or reload"
        );
    }
    Ok(Running {
        proxy_addr,
        admin_addr,
        shared,
        shutdown,
        connections: Some(connections),
        finished,
        grace: config.server.shutdown_grace(),
    })
}

#[derive(Clone, Copy)]
enum Listener {
    Proxy,
    Admin,
}

/// Connections open at once on the admin listener: its own budget, so a
/// flood of the proxy listener never locks operators out.
const ADMIN_CONNECTIONS: usize = 64;

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
    connections: mpsc::Sender<()>,
    kind: Listener,
    slots: Arc<tokio::sync::Semaphore>,
) {
    loop {
        // A free connection slot first: past the limit, clients wait in the
        // kernel's accept queue instead of costing memory here.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        // The admin router checks `Host` against the address the client reached.
        let Ok(local) = stream.local_addr() else { continue };
        let shared = Arc::clone(&shared);
        let shutdown = shutdown.clone();
        let guard = connections.clone();
        let tls = match kind {
            Listener::Proxy => shared.proxy_tls.as_ref(),
            Listener::Admin => shared.admin_tls.as_ref(),
        }
        .map(ListenerTls::acceptor);
        tokio::spawn(async move {
            let accepted = Accepted { shared, peer, local, kind, header_timeout };
            match tls {
                None => accepted.serve_plain(stream, shutdown).await,
                // The handshake within the head's time: a client that
                // opens connections and says nothing holds no slot longer.
                Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => accepted.serve_tls(stream, shutdown).await,
                    Ok(Err(error)) => tracing::debug!(%error, %peer, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
            drop(guard);
            drop(slot);
        });
    }
}

/// One accepted connection, before its protocol is known.
struct Accepted {
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// The address the client reached (the admin router checks `Host` against it).
    local: SocketAddr,
    kind: Listener,
    header_timeout: Duration,
}

impl Accepted {
    /// The router of the connection's listener; `client_cert`: the
    /// connection presented a client certificate its CA vouches for.
    fn service(
        &self,
        client_cert: bool,
    ) -> impl hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<crate::http::ResponseBody>, Error = Infallible, Future: Send> + Clone + use<> {
        let (shared, peer, local, kind) = (Arc::clone(&self.shared), self.peer, self.local, self.kind);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            async move {
                Ok::<_, Infallible>(match kind {
                    Listener::Proxy => proxy::handle(&shared, proxy::Peer { addr: peer, client_cert }, request).await,
                    Listener::Admin => admin::handle(&shared, local, request).await,
                })
            }
        })
    }

    /// Plain HTTP/1.1 until it closes or shutdown starts (then gracefully).
    async fn serve_plain(self, stream: tokio::net::TcpStream, shutdown: watch::Receiver<bool>) {
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.header_timeout).keep_alive(true);
        let connection = builder.serve_connection(TokioIo::new(stream), self.service(false));
        tokio::pin!(connection);
        until_closed(connection, shutdown, http1::Connection::graceful_shutdown).await;
    }

    /// HTTPS: HTTP/2 or HTTP/1.1 as ALPN chose.
    async fn serve_tls(self, stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>, shutdown: watch::Receiver<bool>) {
        let client_cert = stream.get_ref().1.peer_certificates().is_some_and(|certs| !certs.is_empty());
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.header_timeout).keep_alive(true);
        builder.http2().timer(TokioTimer::new());
        let connection = builder.serve_connection(TokioIo::new(stream), self.service(client_cert));
        tokio::pin!(connection);
        until_closed(connection, shutdown, auto::Connection::graceful_shutdown).await;
    }
}

/// Drives `connection` until it closes; once shutdown starts, asks it to
/// close gracefully (`graceful`: finish the requests in flight, take no
/// more) and waits for that.
async fn until_closed<C: Future>(mut connection: std::pin::Pin<&mut C>, mut shutdown: watch::Receiver<bool>, graceful: fn(std::pin::Pin<&mut C>)) {
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.changed() => {
            graceful(connection.as_mut());
            let _ = connection.await;
        }
    }
}

/// What the sweeper does, how often.
struct Sweeping {
    every: Duration,
    /// The newest audit events kept (`store.audit_retention_events`).
    audit_retention: u64,
}

/// Deletes expired records and trims the audit log, every `sweeping.every`.
async fn sweeper(shared: Arc<Shared>, sweeping: Sweeping, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(sweeping.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => break,
        }
        let started = std::time::Instant::now();
        match shared.store.sweep(shared.clock.now(), 10_000).await {
            Ok(0) => {}
            Ok(n) => {
                shared.metrics.swept(n);
                tracing::info!(records = n, "swept expired idempotency records");
            }
            Err(error) => tracing::error!(%error, "sweep failed"),
        }
        shared.metrics.store_op("sweep", started.elapsed());
        if let Err(error) = shared.last_used.flush(shared.store.as_ref(), shared.clock.now()).await {
            tracing::error!(%error, "the keys' last uses could not be written; kept for the next sweep");
        }
        match shared.store.trim_audit(sweeping.audit_retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, keep = sweeping.audit_retention, "trimmed the oldest audit events"),
            Err(error) => tracing::error!(%error, "audit trim failed"),
        }
    }
}

