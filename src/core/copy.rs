//! `COPY ... FROM STDIN` and `COPY ... TO STDOUT`: postgres.js's `writable()` and `readable()`.
//!
//! The pool starts a copy like any query (flag COPY), holding the connection's line until the
//! server answered CopyInResponse / CopyOutResponse; from then on the data moves between the
//! facade's Node stream and tokio-postgres's `CopyInSink` / `CopyOutStream`:
//! - JS → core: [`Op`]s sent with [`Registry::send`] (sync, from the JS thread). The facade sends
//!   one `Write` at a time and the next only after its ACK frame, and one `Read` at a time and the
//!   next only after its DATA frame: at most one chunk or one batch is held here, whatever the pace
//!   on either side.
//! - core → JS: frames of the query's id ([`FrameKind::Copy`], [`FrameKind::CopyAck`], [`FrameKind::CopyData`]),
//!   then DONE or ERROR when the copy is over.
//!
//! Backpressure: a `Write` is acknowledged once tokio-postgres has taken the chunk (its channel to
//! the connection holds one message, so a slow server holds the writer back); rows are read from
//! the connection only when JS asks for the next batch (a `Read` comes from the Readable's
//! `_read`, which Node calls only while its buffer is below the high-water mark), and while nobody
//! reads them tokio-postgres stops reading the socket, so TCP holds the server back.

use crate::core::command::comment_end;
use crate::core::completions::CompletionQueue;
use crate::core::error::{Error, Result};
use crate::core::protocol::FrameKind;
use crate::core::wire::FrameWriter;
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};
use tokio_postgres::{Client, CopyInSink, CopyOutStream};

/// A batch of COPY TO rows is closed at about this many bytes (and as soon as no further row is
/// already read): the most the core holds for a Readable at a time.
const BATCH_BYTES: usize = 64 * 1024;
/// A chunk written by JS goes to the server in CopyData messages of at most this size (the local
/// endpoint, like any relay, bounds a single message).
const PIECE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `COPY ... FROM STDIN`: the facade writes.
    In,
    /// `COPY ... TO STDOUT`: the facade reads.
    Out,
}

/// Which way a COPY statement moves data, from its first depth-0 `FROM` or `TO` (quoted names,
/// strings and comments skipped, so `copy "from" to stdout` and `copy (select ... from t) to
/// stdout` are read correctly). None when the text is not a COPY statement.
pub fn direction(sql: &str) -> Option<Direction> {
    let b = sql.as_bytes();
    let (mut i, mut depth, mut first) = (0usize, 0u32, true);
    while i < b.len() {
        if let Some(end) = comment_end(b, i) {
            i = end;
            continue;
        }
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                if first {
                    return None;
                }
                i += 1;
                while i < b.len() && b[i] != c {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                    i += 1;
                }
                let word = &sql[start..i];
                if first {
                    if !word.eq_ignore_ascii_case("copy") {
                        return None;
                    }
                    first = false;
                } else if depth == 0 && word.eq_ignore_ascii_case("from") {
                    return Some(Direction::In);
                } else if depth == 0 && word.eq_ignore_ascii_case("to") {
                    return Some(Direction::Out);
                }
                continue;
            }
            _ if c.is_ascii_whitespace() || c == b';' => {}
            _ if first => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// What the facade asks of a running copy.
#[derive(Debug)]
pub enum Op {
    /// COPY FROM: send these bytes (acknowledged with [`FrameKind::CopyAck`]).
    Write(Vec<u8>),
    /// COPY FROM: the Writable ended: CopyDone, then DONE with the row count (or the server's error).
    End,
    /// Stop: a Writable destroyed (CopyFail; the connection stays usable) or a Readable destroyed
    /// (the rest of the data is read and dropped).
    Abort,
    /// COPY TO: the next batch of rows ([`FrameKind::CopyData`]).
    Read,
}

struct Entry {
    ops: mpsc::UnboundedSender<Op>,
    aborted: Arc<Notify>,
    /// The connection's copy in progress (the id of its query, 0 when none).
    copying: Arc<AtomicU32>,
    direction: Direction,
}

/// The running copies of a pool, by query id.
#[derive(Default)]
pub struct Registry(Mutex<HashMap<u32, Entry>>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// Registers copy `id`, running on the connection whose `copying` is given.
    pub fn open(self: &Arc<Self>, id: u32, copying: Arc<AtomicU32>, direction: Direction) -> Ops {
        let (tx, rx) = mpsc::unbounded_channel();
        let aborted = Arc::new(Notify::new());
        lock(&self.0).insert(id, Entry { ops: tx, aborted: aborted.clone(), copying: copying.clone(), direction });
        Ops { id, rx, aborted, copying, registry: self.clone() }
    }

    /// Hands `op` to copy `id` (ignored once it is over: its DONE or ERROR frame is on its way).
    /// A copy that ends (COPY FROM) or is aborted stops counting as in progress at once: a query the
    /// caller submits next is not refused with COPY_IN_PROGRESS, and tokio-postgres sends it after
    /// the copy's last message, in order.
    pub fn send(&self, id: u32, op: Op) {
        let mut copies = lock(&self.0);
        let Some(e) = copies.get(&id) else { return };
        let last = matches!(op, Op::End | Op::Abort);
        if matches!(op, Op::Abort) {
            e.aborted.notify_one();
        }
        if matches!(op, Op::Abort) || (last && e.direction == Direction::In) {
            let _ = e.copying.compare_exchange(id, 0, Ordering::SeqCst, Ordering::SeqCst);
        }
        let _ = e.ops.send(op);
        if last {
            copies.remove(&id);
        }
    }
}

/// The receiving end of a copy's ops; dropping it ends the copy's registration (and its
/// connection's COPY in progress).
pub struct Ops {
    id: u32,
    rx: mpsc::UnboundedReceiver<Op>,
    aborted: Arc<Notify>,
    copying: Arc<AtomicU32>,
    registry: Arc<Registry>,
}

impl Drop for Ops {
    fn drop(&mut self) {
        lock(&self.registry.0).remove(&self.id);
        let _ = self.copying.compare_exchange(self.id, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// A copy whose CopyInResponse / CopyOutResponse has come.
pub enum Started {
    In(CopyInSink<Bytes>),
    Out(CopyOutStream),
}

/// Sends the COPY statement and waits for the server to enter copy mode.
pub async fn start(client: &Client, sql: &str, direction: Direction) -> Result<Started> {
    let wrong = |e: tokio_postgres::Error, expected: &str| -> Error {
        // tokio-postgres reports the other copy direction (or none) as an unexpected message.
        if e.as_db_error().is_none() && !e.is_closed() {
            Error::Other(format!("COPY: the server did not start {expected} for this statement"))
        } else {
            Error::from(e)
        }
    };
    Ok(match direction {
        Direction::In => Started::In(client.copy_in::<str, Bytes>(sql).await.map_err(|e| wrong(e, "COPY FROM STDIN"))?),
        Direction::Out => Started::Out(client.copy_out::<str>(sql).await.map_err(|e| wrong(e, "COPY TO STDOUT"))?),
    })
}

/// The frame that tells the facade the copy has started (it then resolves the query with a stream).
pub fn started_frame(id: u32, direction: Direction) -> Vec<u8> {
    frame(id, FrameKind::Copy, &[u8::from(direction == Direction::Out)])
}

fn frame(id: u32, kind: FrameKind, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(9 + payload.len());
    b.extend_from_slice(&id.to_le_bytes());
    b.push(kind as u8);
    b.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    b.extend_from_slice(payload);
    b
}

/// Moves the data until the copy is over, then pushes its DONE (`COPY`, with the row count of a
/// COPY FROM) or ERROR frame; returns the error the copy failed with (for the pool's counts).
pub async fn run(started: Started, mut ops: Ops, sink: &CompletionQueue, w: &mut FrameWriter) -> Option<Error> {
    let result = match started {
        Started::In(s) => copy_in(s, &mut ops, sink, w.id).await,
        Started::Out(s) => copy_out(s, &mut ops, sink, w.id).await,
    };
    // No longer in progress before the facade hears of the end.
    drop(ops);
    let failed = match result {
        Ok(count) => {
            w.done(count, true, "COPY");
            None
        }
        Err(e) => {
            w.error(&e);
            Some(e)
        }
    };
    sink.push(&w.take());
    failed
}

async fn copy_in(sink: CopyInSink<Bytes>, ops: &mut Ops, frames: &CompletionQueue, id: u32) -> Result<Option<u64>> {
    let mut sink = std::pin::pin!(sink);
    loop {
        match ops.rx.recv().await {
            Some(Op::Write(data)) => {
                let mut data = Bytes::from(data);
                let sending = async {
                    while !data.is_empty() {
                        let piece = data.split_to(data.len().min(PIECE_BYTES));
                        sink.as_mut().send(piece).await?;
                    }
                    Ok::<_, tokio_postgres::Error>(())
                };
                // An abort need not wait for a server that is slow to take the data.
                tokio::select! {
                    sent = sending => sent?,
                    _ = ops.aborted.notified() => return Ok(None),
                }
                frames.push(&frame(id, FrameKind::CopyAck, &[]));
            }
            Some(Op::End) => return Ok(Some(sink.as_mut().finish().await?)),
            // Dropping the sink sends CopyFail (and Sync): the server rolls the COPY back, and
            // tokio-postgres drops its answer; the connection's next query follows it in order.
            Some(Op::Abort) | None => return Ok(None),
            Some(Op::Read) => {}
        }
    }
}

async fn copy_out(stream: CopyOutStream, ops: &mut Ops, frames: &CompletionQueue, id: u32) -> Result<Option<u64>> {
    let mut stream = std::pin::pin!(stream);
    loop {
        match ops.rx.recv().await {
            Some(Op::Read) => {
                let mut batch = Batch::new(id);
                let mut next = stream.next().await;
                loop {
                    match next {
                        None => {
                            batch.push_to(frames);
                            return Ok(None);
                        }
                        Some(Err(e)) => {
                            batch.push_to(frames);
                            return Err(e.into());
                        }
                        Some(Ok(row)) => batch.add(&row),
                    }
                    if batch.bytes() >= BATCH_BYTES {
                        break;
                    }
                    // More rows only while they are already read (no waiting with rows in hand).
                    match stream.next().now_or_never() {
                        Some(n) => next = n,
                        None => break,
                    }
                }
                batch.push_to(frames);
            }
            Some(Op::Abort) | None => {
                // COPY TO has no CopyFail: the rest is read and dropped, and the connection's next
                // query (already allowed, see Registry::send) follows it. No CancelRequest: one that
                // reached the server after the copy had finished would cancel that next query.
                while let Some(Ok(_)) = stream.next().await {}
                return Ok(None);
            }
            Some(Op::Write(_) | Op::End) => {}
        }
    }
}

/// A DATA frame being filled.
struct Batch {
    buf: Vec<u8>,
    rows: u32,
}

impl Batch {
    fn new(id: u32) -> Self {
        let mut buf = Vec::with_capacity(BATCH_BYTES + 1024);
        buf.extend_from_slice(&id.to_le_bytes());
        buf.push(FrameKind::CopyData as u8);
        buf.extend_from_slice(&[0; 8]); // frame length, row count
        Batch { buf, rows: 0 }
    }

    fn add(&mut self, row: &[u8]) {
        self.buf.extend_from_slice(&(row.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(row);
        self.rows += 1;
    }

    fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn push_to(mut self, frames: &CompletionQueue) {
        if self.rows == 0 {
            return;
        }
        let len = (self.buf.len() - 9) as u32;
        self.buf[5..9].copy_from_slice(&len.to_le_bytes());
        self.buf[9..13].copy_from_slice(&self.rows.to_le_bytes());
        frames.push_now(&self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::{direction, Direction::*};

    #[test]
    fn directions() {
        assert_eq!(direction("copy test from stdin"), Some(In));
        assert_eq!(direction("  COPY test FROM STDIN WITH(FORMAT csv, HEADER false, DELIMITER ',')"), Some(In));
        assert_eq!(direction("copy test (x, y) from stdin"), Some(In));
        assert_eq!(direction("copy test to stdout"), Some(Out));
        assert_eq!(direction("copy (select * from t where a = 'to') to stdout with (format csv)"), Some(Out));
        assert_eq!(direction("copy \"from\" to stdout"), Some(Out));
        assert_eq!(direction("-- c\ncopy /* to */ t from stdin"), Some(In));
        assert_eq!(direction("select 1 from t"), None);
        assert_eq!(direction("copyx t from stdin"), None);
        assert_eq!(direction("copy"), None);
    }
}
