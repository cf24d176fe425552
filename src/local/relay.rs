//! Message-framed relay between the client (TLS) and the backend (TCP), with a policy hook.

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::protocol::{take_frame, Frame};

/// What to do with one relayed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on unchanged.
    Forward,
    /// Send these bytes (zero or more whole messages) in its place, in the same direction.
    Replace(Vec<u8>),
}

/// Inspects and may rewrite messages of an authenticated session (SQL restrictions, error
/// rewriting). Both directions share one instance; calls are short and never block.
pub trait SessionPolicy: Send {
    /// A frontend (client → backend) message, e.g. Query 'Q' or Parse 'P'.
    fn frontend(&mut self, _msg: &Frame) -> Verdict {
        Verdict::Forward
    }
    /// A backend (backend → client) message, e.g. ErrorResponse 'E'.
    fn backend(&mut self, _msg: &Frame) -> Verdict {
        Verdict::Forward
    }
}

/// Forwards everything (no DSQL behaviour: a plain relay).
pub struct PassThrough;
impl SessionPolicy for PassThrough {}

/// Two policies in series: `outer` on the client side, `inner` on the backend side
/// (client → outer → inner → backend, and back the other way).
pub(crate) struct Chain {
    pub outer: Box<dyn SessionPolicy>,
    pub inner: Box<dyn SessionPolicy>,
}

impl SessionPolicy for Chain {
    fn frontend(&mut self, msg: &Frame) -> Verdict {
        let first = self.outer.frontend(msg);
        then(first, msg, |f| self.inner.frontend(f))
    }
    fn backend(&mut self, msg: &Frame) -> Verdict {
        let first = self.inner.backend(msg);
        then(first, msg, |f| self.outer.backend(f))
    }
}

/// Feeds the result of one policy, message by message, to the next.
fn then(first: Verdict, msg: &Frame, mut next: impl FnMut(&Frame) -> Verdict) -> Verdict {
    let Verdict::Replace(bytes) = first else {
        return next(msg);
    };
    let mut buf = BytesMut::from(&bytes[..]);
    let mut out = Vec::with_capacity(bytes.len());
    while let Ok(Some(f)) = take_frame(&mut buf, usize::MAX) {
        match next(&f) {
            Verdict::Forward => out.extend_from_slice(f.raw()),
            Verdict::Replace(b) => out.extend(b),
        }
    }
    out.extend_from_slice(&buf); // a malformed tail goes on as it is
    Verdict::Replace(out)
}

/// Who the session belongs to, given to the policy factory.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: String,
    pub database: String,
    pub params: Vec<(String, String)>,
}

/// Builds one policy per authenticated session.
pub type PolicyFactory = Arc<dyn Fn(&SessionInfo) -> Box<dyn SessionPolicy> + Send + Sync>;

pub(crate) type SharedPolicy = Arc<Mutex<Box<dyn SessionPolicy>>>;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    ToBackend,
    ToClient,
}

/// How a pump ended.
#[derive(Debug)]
pub(crate) enum PumpEnd {
    /// The source closed cleanly at a message boundary.
    Eof,
    /// Framing error from the source (bad length, too large, truncated).
    Protocol,
    /// I/O error on either side.
    Io,
    /// Stopped by a close request; the given final bytes were written first.
    Closed,
}

const READ_CHUNK: usize = 64 * 1024;

/// Copies whole messages from `src` to `dst`, through the policy. When `close` (if any) changes,
/// writes the bytes it carries at a message boundary, shuts `dst` down and stops.
pub(crate) async fn pump<R, W>(
    mut src: R,
    dst: &mut W,
    dir: Dir,
    policy: SharedPolicy,
    max: usize,
    mut close: Option<watch::Receiver<Option<Vec<u8>>>>,
) -> PumpEnd
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Vec::with_capacity(READ_CHUNK);
    loop {
        loop {
            match take_frame(&mut buf, max) {
                Ok(Some(f)) => match apply(&policy, dir, &f) {
                    Verdict::Forward => out.extend_from_slice(f.raw()),
                    Verdict::Replace(b) => out.extend_from_slice(&b),
                },
                Ok(None) => break,
                Err(_) => {
                    // flush what was complete, then report
                    let _ = dst.write_all(&out).await;
                    return PumpEnd::Protocol;
                }
            }
            if out.len() >= READ_CHUNK {
                break;
            }
        }
        if !out.is_empty() {
            if dst.write_all(&out).await.is_err() {
                return PumpEnd::Io;
            }
            out.clear();
            if buf.len() >= 5 && take_ready(&buf) {
                continue; // more complete frames already buffered
            }
        }
        if dst.flush().await.is_err() {
            return PumpEnd::Io;
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(READ_CHUNK);
        }
        tokio::select! {
            biased;
            last = closed(&mut close) => {
                if let Some(b) = last {
                    let _ = dst.write_all(&b).await;
                    let _ = dst.flush().await;
                }
                let _ = dst.shutdown().await;
                return PumpEnd::Closed;
            }
            n = src.read_buf(&mut buf) => match n {
                Ok(0) if buf.is_empty() => {
                    // Passed on: the other side sees the end of stream too (a backend then ends its session).
                    pass_end(dst).await;
                    return PumpEnd::Eof;
                }
                Ok(0) => return PumpEnd::Protocol, // closed inside a message
                Ok(_) => {}
                Err(_) => {
                    pass_end(dst).await;
                    return PumpEnd::Io;
                }
            },
        }
    }
}

/// Shuts `dst` down, bounded: a peer that stops reading cannot hold the session.
async fn pass_end<W: AsyncWrite + Unpin>(dst: &mut W) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), dst.shutdown()).await;
}

fn take_ready(buf: &BytesMut) -> bool {
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    buf.len() > len
}

fn apply(policy: &SharedPolicy, dir: Dir, f: &Frame) -> Verdict {
    let mut p = match policy.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    match dir {
        Dir::ToBackend => p.frontend(f),
        Dir::ToClient => p.backend(f),
    }
}

/// Resolves with the close bytes once `close` changes; never if there is no channel.
async fn closed(close: &mut Option<watch::Receiver<Option<Vec<u8>>>>) -> Option<Vec<u8>> {
    match close {
        Some(rx) => match rx.changed().await {
            Ok(()) => rx.borrow().clone(),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}
