//! A session stream whose shutdown waits for the server's side to close too.
//!
//! When a session ends, tokio-postgres writes Terminate and shuts the stream down; the server then
//! ends the session and closes its side. postgres.js's `end()` resolves on the socket's `close`, that
//! is after the server let go; with this wrapper ours does the same (the connection task ends once
//! the server's end of stream arrives), so after `await sql.end()` the server no longer holds the
//! sessions (their slots, locks and backend processes are released). The wait is bounded by
//! [`CLOSE_WAIT`]; whatever arrives meanwhile is dropped. TLS sessions get it through
//! [`MakeCloseWait`]; WebSocket sessions wrap their stream directly (their shutdown is a Close
//! message, and the server's Close reads as the end of stream).
use futures_util::future::{MapOk, TryFutureExt};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// The longest a shutdown waits for the server's end of stream.
pub const CLOSE_WAIT: Duration = Duration::from_millis(500);

pub struct CloseWait<S> {
    inner: S,
    /// Set once our side is shut down: the wait for the server's end of stream runs until then.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> CloseWait<S> {
    pub fn new(inner: S) -> Self {
        CloseWait { inner, deadline: None }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CloseWait<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for CloseWait<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.deadline.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.deadline = Some(Box::pin(tokio::time::sleep(CLOSE_WAIT)));
        }
        let mut scratch = [0u8; 1024];
        loop {
            if let Some(d) = this.deadline.as_mut() {
                if d.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(()));
                }
            }
            let mut rb = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {}
                // A reset or a broken stream: it is closed either way.
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: TlsStream + Unpin> TlsStream for CloseWait<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// Wraps a `MakeTlsConnect` so that its sessions' streams are [`CloseWait`]s.
#[derive(Clone)]
pub struct MakeCloseWait<M>(pub M);

impl<S, M: MakeTlsConnect<S>> MakeTlsConnect<S> for MakeCloseWait<M>
where
    M::Stream: Unpin,
{
    type Stream = CloseWait<M::Stream>;
    type TlsConnect = CloseWaitConnect<M::TlsConnect>;
    type Error = M::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        self.0.make_tls_connect(domain).map(CloseWaitConnect)
    }
}

pub struct CloseWaitConnect<C>(C);

impl<S, C: TlsConnect<S>> TlsConnect<S> for CloseWaitConnect<C>
where
    C::Stream: Unpin,
{
    type Stream = CloseWait<C::Stream>;
    type Error = C::Error;
    type Future = MapOk<C::Future, fn(C::Stream) -> CloseWait<C::Stream>>;

    fn connect(self, stream: S) -> Self::Future {
        self.0.connect(stream).map_ok(CloseWait::new as fn(C::Stream) -> CloseWait<C::Stream>)
    }
}
