//! The REST listener's accept loop: HTTP/1.1 connections served by hyper
//! under a cap on open connections, a header-read timeout and an idle
//! keep-alive timeout, so that clients which connect and send nothing (or
//! half a request) cannot hold the worker's file descriptors and starve the
//! clients that do send requests.
//!
//! At the cap, a new connection closes the connection that has been idle
//! longest (no request in progress: idle between requests, or still sending
//! its request head); when every connection has a request in progress, the
//! new one is refused (closed at once). A failed `accept()` for lack of file
//! descriptors frees one the same way, or backs off, instead of spinning.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// How the REST listener bounds its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; at least 1.
    pub max_connections: usize,
    /// How long a client may take to send a request line and headers, from
    /// its first byte.
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in progress (and
    /// no byte of a new one received).
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// The defaults of the `rest.connections.max`,
    /// `rest.header.read.timeout.ms` and `rest.idle.timeout.ms` worker keys.
    pub const DEFAULT: ConnectionLimits = ConnectionLimits {
        max_connections: 256,
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(30),
    };
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits::DEFAULT
    }
}

/// Longest pause of the accept loop when `accept()` keeps failing.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// At most one warning per this interval about refused connections.
const REFUSAL_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// What the accept loop, the reaper and a connection's I/O and service share
/// about one connection.
struct ConnState {
    /// Requests whose response is not complete yet.
    in_flight: AtomicU32,
    /// Milliseconds since the server started, of the last request's end (or
    /// of the accept).
    last_active_ms: AtomicU64,
    /// When the first byte of a request head arrived (ms since the server
    /// started, plus one); 0 when no head is being read.
    head_started_ms: AtomicU64,
    /// Tells the connection's task to drop the connection.
    close: Notify,
}

impl ConnState {
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    fn close(&self) {
        // notify_one keeps a permit if the task is not waiting yet.
        self.close.notify_one();
    }
}

struct Connections {
    limits: ConnectionLimits,
    epoch: Instant,
    open: Mutex<HashMap<u64, Arc<ConnState>>>,
    /// Signalled whenever a connection's task ends.
    ended: Notify,
    last_refusal_warning: Mutex<Option<Instant>>,
}

impl Connections {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn open(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        // The map stays consistent across a panic: each change is one call.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new connection if there is room, making room by closing
    /// the longest idle one; `None` when every connection is busy.
    fn admit(&self, id: u64) -> Option<Arc<ConnState>> {
        let mut open = self.open();
        if open.len() >= self.limits.max_connections && !Self::evict_idlest(&mut open) {
            return None;
        }
        let state = Arc::new(ConnState {
            in_flight: AtomicU32::new(0),
            last_active_ms: AtomicU64::new(self.now_ms()),
            head_started_ms: AtomicU64::new(0),
            close: Notify::new(),
        });
        open.insert(id, state.clone());
        Some(state)
    }

    /// Closes the connection with no request in progress that was active
    /// least recently (a stalled request head counts from its start).
    fn evict_idlest(open: &mut HashMap<u64, Arc<ConnState>>) -> bool {
        let idlest = open
            .iter()
            .filter(|(_, c)| c.idle())
            .min_by_key(|(_, c)| match c.head_started_ms.load(Ordering::Acquire) {
                0 => c.last_active_ms.load(Ordering::Acquire),
                started => started - 1,
            })
            .map(|(id, _)| *id);
        match idlest.and_then(|id| open.remove(&id)) {
            Some(conn) => {
                tracing::debug!(
                    "REST connection limit reached: closing the longest idle connection"
                );
                conn.close();
                true
            }
            None => false,
        }
    }

    fn remove(&self, id: u64) {
        self.open().remove(&id);
        self.ended.notify_waiters();
    }

    /// Closes connections past their header-read or idle timeout.
    fn reap(&self) {
        let now = self.now_ms();
        let header_ms = millis(self.limits.header_read_timeout);
        let idle_ms = millis(self.limits.idle_timeout);
        let mut open = self.open();
        open.retain(|_, c| {
            if !c.idle() {
                return true;
            }
            let expired = match c.head_started_ms.load(Ordering::Acquire) {
                0 => now.saturating_sub(c.last_active_ms.load(Ordering::Acquire)) > idle_ms,
                started => now.saturating_sub(started - 1) > header_ms,
            };
            if expired {
                c.close();
            }
            !expired
        });
    }

    fn warn_refused(&self) {
        let mut last = self
            .last_refusal_warning
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|t| t.elapsed() >= REFUSAL_WARNING_INTERVAL) {
            *last = Some(Instant::now());
            tracing::warn!(
                max_connections = self.limits.max_connections,
                "REST connection refused: every connection has a request in progress \
                 (rest.connections.max)"
            );
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The socket, noting when the bytes of a new request head start to arrive.
struct TrackedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
    conns: Arc<Connections>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let state = &self.state;
            if state.idle() && state.head_started_ms.load(Ordering::Acquire) == 0 {
                let now = self.conns.now_ms();
                state.head_started_ms.store(now + 1, Ordering::Release);
            }
        }
        result
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Marks a request in progress for as long as its response is being made.
struct InFlight {
    state: Arc<ConnState>,
    conns: Arc<Connections>,
}

impl InFlight {
    fn start(state: Arc<ConnState>, conns: Arc<Connections>) -> Self {
        state.in_flight.fetch_add(1, Ordering::AcqRel);
        state.head_started_ms.store(0, Ordering::Release);
        InFlight { state, conns }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.state
            .last_active_ms
            .store(self.conns.now_ms(), Ordering::Release);
        self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The router as a hyper service that tracks requests in progress.
#[derive(Clone)]
struct TrackedService {
    router: Router,
    state: Arc<ConnState>,
    conns: Arc<Connections>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for TrackedService {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let guard = InFlight::start(self.state.clone(), self.conns.clone());
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(req.map(Body::new)).await;
            drop(guard);
            response
        })
    }
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == libc::EMFILE || code == libc::ENFILE)
        || matches!(e.kind(), io::ErrorKind::OutOfMemory)
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// completes, then lets requests in progress finish.
pub async fn serve<F>(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_with(listener, router, limits, None, shutdown).await
}

/// [`serve`] over TLS (an `https` listener): each connection's handshake
/// must complete within the header-read timeout, as a request head must.
pub async fn serve_tls<F>(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Arc<rustls::ServerConfig>,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    serve_with(listener, router, limits, Some(acceptor), shutdown).await
}

/// Drives one connection until it ends, is closed by the reaper or the
/// server stops (then gracefully).
async fn drive<I>(
    conn: http1::Connection<I, TrackedService>,
    state: Arc<ConnState>,
    mut stop_rx: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut conn = pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "REST connection ended with an error");
                }
                break;
            }
            () = state.close.notified() => break,
            changed = stop_rx.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

async fn serve_with<F>(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let scheme = if tls.is_some() { "https" } else { "http" };
    let limits = ConnectionLimits {
        max_connections: limits.max_connections.max(1),
        ..limits
    };
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(
            max_connections = limits.max_connections,
            header_read_timeout_ms = millis(limits.header_read_timeout),
            idle_timeout_ms = millis(limits.idle_timeout),
            "REST server listening on {scheme}://{addr}"
        );
    }
    let conns = Arc::new(Connections {
        limits,
        epoch: Instant::now(),
        open: Mutex::new(HashMap::new()),
        ended: Notify::new(),
        last_refusal_warning: Mutex::new(None),
    });
    let mut builder = http1::Builder::new();
    // hyper's own header timer runs from the moment it waits for a head,
    // idle time included: the longer of the two limits keeps it a backstop
    // behind the reaper, which tells the two apart.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout.max(limits.idle_timeout));
    let (stop_tx, stop_rx) = watch::channel(false);

    let reaper = {
        let conns = conns.clone();
        let tick = (limits.header_read_timeout.min(limits.idle_timeout) / 4)
            .clamp(Duration::from_millis(20), Duration::from_secs(1));
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                conns.reap();
            }
        })
    };

    let mut shutdown = pin!(shutdown);
    let mut next_id: u64 = 0;
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                backoff = Duration::from_millis(10);
                stream
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors (or another failure): free one by
                // closing the longest idle connection, or wait; never spin.
                let freed = is_fd_exhaustion(&e) && Connections::evict_idlest(&mut conns.open());
                if freed {
                    tracing::warn!(error = %e, "REST accept failed: closed the longest idle connection to free a file descriptor");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                } else {
                    tracing::error!(error = %e, backoff_ms = millis(backoff), "REST accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                }
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        let Some(state) = conns.admit(id) else {
            conns.warn_refused();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TrackedIo {
            inner: stream,
            state: state.clone(),
            conns: conns.clone(),
        };
        let service = TrackedService {
            router: router.clone(),
            state: state.clone(),
            conns: conns.clone(),
        };
        let conns = conns.clone();
        let stop_rx = stop_rx.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            match tls {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(io), service);
                    drive(conn, state, stop_rx).await;
                }
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(io)).await {
                        Ok(Ok(stream)) => {
                            let conn = builder.serve_connection(TokioIo::new(stream), service);
                            drive(conn, state, stop_rx).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "REST TLS handshake failed"),
                        Err(_) => tracing::debug!("REST TLS handshake timed out"),
                    }
                }
            }
            // An evicted or reaped connection was removed already; ids are
            // never reused, so removing it again is harmless.
            conns.remove(id);
        });
    }

    drop(listener);
    let _ = stop_tx.send(true);
    // Let requests in progress finish; idle connections close at once.
    loop {
        let ended = conns.ended.notified();
        if conns.open().is_empty() {
            break;
        }
        ended.await;
    }
    reaper.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(
        limits: ConnectionLimits,
    ) -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = Router::new().route("/", get(|| async { "ok" }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, limits, async {
            let _ = rx.await;
        }));
        (addr, tx, server)
    }

    async fn get_root(addr: std::net::SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    /// Whether the server closed `s` (EOF or reset) within `within`.
    async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(within, s.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    #[tokio::test]
    async fn the_longest_idle_connection_makes_room() {
        let limits = ConnectionLimits {
            max_connections: 3,
            ..ConnectionLimits::DEFAULT
        };
        let (addr, stop, server) = start(limits).await;
        let mut stalled = Vec::new();
        for _ in 0..3 {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"GET / HT").await.expect("write");
            stalled.push(s);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let answer = get_root(addr).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // The first stalled connection was the one closed.
        assert!(closed_within(&mut stalled[0], Duration::from_secs(2)).await);
        assert!(!closed_within(&mut stalled[2], Duration::from_millis(200)).await);
        let _ = stop.send(());
        server.await.expect("join").expect("serve");
    }

    #[tokio::test]
    async fn header_and_idle_timeouts_close_connections() {
        let limits = ConnectionLimits {
            max_connections: 10,
            header_read_timeout: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(600),
        };
        let (addr, stop, server) = start(limits).await;
        let mut half = TcpStream::connect(addr).await.expect("connect");
        half.write_all(b"GET / HTTP/1.1\r\nHost")
            .await
            .expect("write");
        let mut idle = TcpStream::connect(addr).await.expect("connect");
        let started = Instant::now();
        assert!(closed_within(&mut half, Duration::from_secs(3)).await);
        let half_closed = started.elapsed();
        assert!(half_closed < Duration::from_millis(550), "{half_closed:?}");
        assert!(closed_within(&mut idle, Duration::from_secs(3)).await);
        let idle_closed = started.elapsed();
        assert!(idle_closed >= Duration::from_millis(550), "{idle_closed:?}");
        let _ = stop.send(());
        server.await.expect("join").expect("serve");
    }

    #[tokio::test]
    async fn busy_connections_are_never_evicted() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let release = Arc::new(Notify::new());
        let wait = release.clone();
        let router = Router::new().route(
            "/slow",
            get(move || {
                let wait = wait.clone();
                async move {
                    wait.notified().await;
                    "done"
                }
            }),
        );
        let limits = ConnectionLimits {
            max_connections: 1,
            ..ConnectionLimits::DEFAULT
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, limits, async {
            let _ = rx.await;
        }));
        let mut busy = TcpStream::connect(addr).await.expect("connect");
        busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Refused: the only connection has a request in progress.
        let mut refused = TcpStream::connect(addr).await.expect("connect");
        assert!(closed_within(&mut refused, Duration::from_secs(2)).await);
        release.notify_one();
        let mut out = String::new();
        busy.read_to_string(&mut out).await.expect("read");
        assert!(out.ends_with("done"), "{out}");
        let _ = tx.send(());
        server.await.expect("join").expect("serve");
    }
}
