//! Serving connections, with the protections a public server needs and
//! `axum::serve` does not offer: a client must send a whole request header
//! within the header timeout, an idle keep-alive connection is closed after
//! the idle timeout, and past the connection limit the server stops
//! accepting (new clients wait in the kernel's backlog) until one closes.
//! Without them, anyone could hold every file descriptor with half-sent
//! requests and lock everybody else out.
//!
//! hyper has a header timeout of its own, but its clock also runs while a
//! keep-alive connection waits for its next request, so it cannot tell a
//! slow header from an idle connection; each connection here has a small
//! watchdog that can.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::{Service, ServiceExt};

use super::client::TrustedProxies;

/// The limits on connections (see the module's documentation).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From a connection's first byte of a request to its last header byte.
    pub header_timeout: Duration,
    /// Between the end of a response (or the connection's start) and the
    /// first byte of the next request.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// File descriptors kept back from connections, for the database, feed
/// fetches and logs.
const RESERVED_DESCRIPTORS: u64 = 512;

/// Raises the soft limit on open files to the hard limit (as Go's runtime
/// does: the soft default of 1,024 is a relic), and returns how many
/// connections fit under it with descriptors to spare.
pub fn connection_budget() -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(err) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(%err, "cannot raise the open-file limit");
        }
    }
    let files = getrlimit(Resource::Nofile).current.unwrap_or(1 << 20).min(1 << 20);
    files.saturating_sub(RESERVED_DESCRIPTORS).max(64) as usize
}

/// How often a stopping server looks whether a connection's last request
/// has been answered.
const STOPPING_TICK: Duration = Duration::from_millis(20);

/// How long to wait before accepting again after accept() failed (out of
/// file descriptors, say): the failure would otherwise spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `service` on `listener` until `shutdown` completes, then stops
/// accepting, closes idle connections at once and waits for the requests in
/// flight (the caller bounds that wait).
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true);
    let graceful = GracefulShutdown::new();
    let (stopping_tx, stopping) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut at_limit = false;
    tokio::pin!(shutdown);
    loop {
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if !at_limit {
                    at_limit = true;
                    metrics::counter!("gazette_connection_limit_reached_total").increment(1);
                    tracing::warn!(
                        limit = limits.max_connections,
                        "connection limit reached: not accepting new connections until one closes \
                         (raise --max-connections if this is legitimate traffic)"
                    );
                }
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        if at_limit && slots.available_permits() > limits.max_connections / 10 {
            at_limit = false;
            tracing::info!("accepting connections again");
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, "accepting a connection failed; retrying shortly");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses go out at once rather than waiting for more.
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            stream,
            activity: Arc::clone(&activity),
        });
        let tracked = Tracked {
            inner: service.clone(),
            activity: Arc::clone(&activity),
        };
        // The client's address, for limits kept per address (sign-in,
        // searches): the peer, or whom a trusted proxy forwarded for.
        let proxies = Arc::clone(&proxies);
        let hyper_service = TowerToHyperService::new(tracked.map_request(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(Body::new);
            let client = proxies.client(peer.ip(), request.headers());
            let https = proxies.https(peer.ip(), request.headers());
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            request.extensions_mut().insert(client);
            request.extensions_mut().insert(https);
            request
        }));
        let connection = graceful.watch(builder.serve_connection_with_upgrades(io, hyper_service).into_owned());
        let stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = connection => {}
                reason = activity.expired(limits, stopping) => {
                    // Dropping the connection closes its socket.
                    metrics::counter!("gazette_connections_closed_total", "reason" => reason).increment(1);
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    graceful.shutdown().await;
}

/// What a connection's watchdog needs to know.
struct Activity {
    /// Bytes read from the socket so far.
    read: AtomicU64,
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// When the last response was produced (or the connection opened),
    /// and how many bytes had been read by then.
    quiet: Mutex<(Instant, u64)>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            read: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            quiet: Mutex::new((Instant::now(), 0)),
        }
    }

    fn quiet(&self) -> (Instant, u64) {
        *self.quiet.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn request_answered(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.quiet.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                (Instant::now(), self.read.load(Ordering::Acquire));
        }
    }

    /// Completes when the connection should be closed, with the reason:
    /// it broke a limit, or the server is stopping and it has no request
    /// being answered (an idle or half-sent one; hyper's own graceful
    /// shutdown would wait for a half-sent header to finish). A request
    /// being answered is the request timeout's business.
    async fn expired(&self, limits: ConnectionLimits, mut stopping: watch::Receiver<bool>) -> &'static str {
        let tick = (limits.header_timeout.min(limits.idle_timeout) / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        // When the first byte of the next request was seen (to a tick).
        let mut header_started: Option<Instant> = None;
        loop {
            let stop = *stopping.borrow();
            if stop {
                if self.in_flight.load(Ordering::Acquire) == 0 {
                    return "shutdown";
                }
                tokio::time::sleep(STOPPING_TICK).await;
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                _ = stopping.changed() => continue,
            }
            if self.in_flight.load(Ordering::Acquire) > 0 {
                header_started = None;
                continue;
            }
            let (quiet_since, read_then) = self.quiet();
            if self.read.load(Ordering::Acquire) > read_then {
                let started = *header_started.get_or_insert_with(Instant::now);
                if started.elapsed() >= limits.header_timeout {
                    return "header_timeout";
                }
            } else {
                header_started = None;
                if quiet_since.elapsed() >= limits.idle_timeout {
                    return "idle_timeout";
                }
            }
        }
    }
}

/// The socket, counting what it reads for the watchdog.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.activity.read.fetch_add(read as u64, Ordering::AcqRel);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The application, telling the watchdog when a request is being answered.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Service<Request> for Tracked<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let answered = Answered(Arc::clone(&self.activity));
        answered.0.request_started();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            // Answered once the body has been sent, not when it starts.
            Ok(response.map(|body| {
                Body::new(Answering {
                    body,
                    _answered: answered,
                })
            }))
        })
    }
}

/// A response body that marks its request answered when it is dropped:
/// sent in full, or abandoned because the client hung up.
struct Answering {
    body: Body,
    _answered: Answered,
}

impl http_body::Body for Answering {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Marks a request answered when dropped.
struct Answered(Arc<Activity>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.request_answered();
    }
}
