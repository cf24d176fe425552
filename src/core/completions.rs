//! The completion queue: frames of finished (and partly finished) queries waiting for the binding
//! to take them, with back-pressure for large results and a signaller that batches delivery requests.
//!
//! Connection tasks push frames; the binding takes them in chunks (`take_delivery`), woken by a
//! delivery hook that runs off the JS thread. One request wakes the JS thread for every frame pushed
//! in one go, and a large result stops reading rows while too many bytes wait (see [`ROOM_BYTES`]).

use crate::core::lock;
use crate::core::protocol::POLL_BYTES;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How many bytes of frames may wait for the binding before a large result stops reading rows
/// (tokio-postgres then stops reading the socket, and TCP holds the server back): up to
/// [`ROOM_BYTES`] always, up to [`ROOM_MAX_BYTES`] while the JS thread keeps taking them (it took
/// some within [`TAKER_STALLED`]). The bound keeps a result from being read and framed while the JS
/// thread is stopped (in a garbage collection), competing with it for the CPUs; the larger bound
/// keeps the I/O thread from stopping and waking for every chunk while the JS thread keeps up.
const ROOM_BYTES: usize = 128 * 1024;
const ROOM_MAX_BYTES: usize = 512 * 1024;
const TAKER_STALLED: Duration = Duration::from_millis(2);

/// Completed frames waiting for the binding to take them: chunks of whole frames, each filled up
/// to [`POLL_BYTES`] (a single push may be larger).
///
/// Two ways to take them: `take().await` (Rust callers), or push delivery for the binding: a hook
/// set with [`CompletionQueue::deliver_with`] is called (off the JS thread) when frames arrive and no delivery
/// is under way; the JS thread then takes chunks with [`CompletionQueue::take_delivery`] (for a couple of
/// milliseconds at a time, then its event loop gets a turn) until it reports none left; only then
/// does the next push call the hook again.
#[derive(Default)]
pub struct CompletionQueue {
    buf: Mutex<Pending>,
    notify: Notify,
    /// Wakes a large result waiting for room (see [`ROOM_BYTES`]).
    drained: Notify,
    /// Set when the pool has ended: a waiting `take` returns (empty) instead of keeping Node alive.
    closed: AtomicBool,
    /// Wakes the signaller task (see [`CompletionQueue::signal_later`]), when there is one.
    signaller: Arc<Notify>,
    signaller_running: AtomicBool,
}

pub type DeliveryHook = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Pending {
    chunks: VecDeque<Vec<u8>>,
    /// The chunks' length in bytes.
    bytes: usize,
    /// When frames were last taken.
    last_take: Option<Instant>,
    /// A large result waits for room.
    waiting: bool,
    hook: Option<DeliveryHook>,
    /// A delivery was requested and has not emptied the queue yet.
    signalled: bool,
    /// The signaller task will request a delivery (see [`CompletionQueue::signal_later`]).
    deferred: bool,
    /// A taken chunk's allocation, for the next chunk (see [`CompletionQueue::recycle`]).
    spare: Option<Vec<u8>>,
}

impl Drop for CompletionQueue {
    /// Lets the signaller task see that the queue is gone, and end.
    fn drop(&mut self) {
        self.signaller.notify_one();
    }
}

impl CompletionQueue {
    pub fn push(&self, frames: &[u8]) {
        if frames.is_empty() {
            return;
        }
        let mut q = lock(&self.buf);
        q.bytes += frames.len();
        match q.chunks.back_mut() {
            Some(last) if last.len() + frames.len() <= POLL_BYTES => last.extend_from_slice(frames),
            _ => {
                let mut chunk = q.spare.take().unwrap_or_default();
                chunk.extend_from_slice(frames);
                q.chunks.push_back(chunk)
            }
        }
        if q.signalled || q.deferred || q.hook.is_none() {
            drop(q);
            return self.notify.notify_one();
        }
        if self.signaller_running.load(Ordering::Relaxed) {
            q.deferred = true;
            drop(q);
            return self.signaller.notify_one();
        }
        q.signalled = true;
        let hook = q.hook.clone();
        drop(q);
        if let Some(h) = hook {
            h()
        }
    }

    /// Pushes frames and requests their delivery at once (a chunk of a large result: JS starts on it
    /// while this task goes on framing rows).
    pub fn push_now(&self, frames: &[u8]) {
        self.push(frames);
        self.signal_now();
    }

    /// Starts the task that requests deliveries on the I/O thread's behalf (when called within a
    /// tokio runtime; otherwise each first push requests one itself). A push wakes it, and it runs
    /// once the task that pushed yields, so the frames one connection task pushes in one go (every
    /// response that came in with one read) are delivered by one request (a cross-thread call that
    /// wakes the JS thread, about 5 µs of the I/O thread each), not one per query.
    pub fn signal_later(self: &Arc<Self>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        if self.signaller_running.swap(true, Ordering::SeqCst) {
            return;
        }
        let queue = Arc::downgrade(self);
        let wake = self.signaller.clone();
        rt.spawn(async move {
            loop {
                wake.notified().await;
                let Some(queue) = queue.upgrade() else { return };
                queue.signal_now();
            }
        });
    }

    /// Requests the delivery the signaller task would request, now (before the I/O thread waits
    /// for the JS thread's next query, which may need these frames first).
    pub fn signal_now(&self) {
        let hook = {
            let mut q = lock(&self.buf);
            let due = q.deferred && !q.signalled && !q.chunks.is_empty();
            q.deferred = false;
            q.signalled |= due;
            if due {
                q.hook.clone()
            } else {
                None
            }
        };
        if let Some(h) = hook {
            h()
        }
    }

    /// Push delivery (see the type's doc); `None` stops it.
    pub fn deliver_with(&self, hook: Option<DeliveryHook>) {
        let mut q = lock(&self.buf);
        q.signalled = false;
        q.hook = hook;
        let call = q.hook.clone().filter(|_| !q.chunks.is_empty());
        q.signalled = call.is_some();
        drop(q);
        if let Some(h) = call {
            h();
        }
    }

    /// The oldest chunk (empty when there is none) and whether more remain. While they do, the
    /// delivery stays under way: the taker comes back for them.
    pub fn take_delivery(&self) -> (Vec<u8>, bool) {
        let mut q = lock(&self.buf);
        let chunk = q.chunks.pop_front().unwrap_or_default();
        let more = !q.chunks.is_empty();
        q.signalled = more;
        self.taken(&mut q, chunk.len());
        (chunk, more)
    }

    /// Gives back a taken chunk whose bytes were copied out: its allocation makes the next chunk
    /// (one kept, and none much larger than a regular chunk).
    pub fn recycle(&self, mut chunk: Vec<u8>) {
        if chunk.capacity() <= 2 * POLL_BYTES {
            chunk.clear();
            lock(&self.buf).spare = Some(chunk);
        }
    }

    fn taken(&self, q: &mut Pending, n: usize) {
        q.bytes -= n;
        q.last_take = Some(Instant::now());
        if q.waiting {
            q.waiting = false;
            self.drained.notify_waiters();
        }
    }

    /// Waits while too many bytes wait to be taken (see [`ROOM_BYTES`]); never once the pool has ended.
    pub async fn room(&self) {
        loop {
            let drained = self.drained.notified();
            let mut drained = std::pin::pin!(drained);
            drained.as_mut().enable();
            {
                let mut q = lock(&self.buf);
                let taking = q.last_take.is_none_or(|t| t.elapsed() < TAKER_STALLED);
                if q.bytes <= ROOM_BYTES || (taking && q.bytes <= ROOM_MAX_BYTES) || self.closed.load(Ordering::SeqCst)
                {
                    return;
                }
                q.waiting = true;
            }
            // Woken by the next take (or close); a taker that stays away wakes nobody, which is the point.
            drained.await;
        }
    }

    /// Waits until frames are available and takes the oldest chunk (empty once the pool has ended).
    pub async fn take(&self) -> Vec<u8> {
        loop {
            let notified = self.notify.notified();
            {
                let mut q = lock(&self.buf);
                if let Some(chunk) = q.chunks.pop_front() {
                    self.taken(&mut q, chunk.len());
                    return chunk;
                }
                if self.closed.load(Ordering::SeqCst) {
                    return Vec::new();
                }
            }
            notified.await;
        }
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.drained.notify_waiters();
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Takes everything that is there without waiting.
    pub fn try_take(&self) -> Vec<u8> {
        let mut q = lock(&self.buf);
        let chunks = std::mem::take(&mut q.chunks);
        let n = chunks.iter().map(Vec::len).sum();
        self.taken(&mut q, n);
        drop(q);
        let mut out = Vec::with_capacity(n);
        for c in chunks {
            out.extend_from_slice(&c);
        }
        out
    }
}

#[cfg(test)]
mod tests {

    #[tokio::test(flavor = "current_thread")]
    async fn deliveries_are_requested_once_per_burst_of_pushes() {
        use super::CompletionQueue;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Weak};
        let calls = Arc::new(AtomicUsize::new(0));
        let count = calls.clone();
        let called = move || calls.load(Ordering::SeqCst);
        // Outside a runtime's signaller (a queue without one): each first push requests at once.
        let plain = CompletionQueue::default();
        let c = count.clone();
        plain.deliver_with(Some(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        })));
        plain.push(&[1]);
        assert_eq!(called(), 1);
        plain.push(&[2]);
        assert_eq!(called(), 1, "a delivery is under way");
        assert_eq!(plain.take_delivery(), (vec![1, 2], false));
        // With the signaller: pushes made without yielding make one request, after the pusher yields.
        let queue = Arc::new(CompletionQueue::default());
        queue.signal_later();
        let c = count.clone();
        queue.deliver_with(Some(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        })));
        for i in 0..3u8 {
            queue.push(&[i]);
        }
        assert_eq!(called(), 1, "not before the pusher yields");
        tokio::task::yield_now().await;
        assert_eq!(called(), 2, "one request for the burst");
        assert_eq!(queue.take_delivery(), (vec![0, 1, 2], false));
        // signal_now requests a pending delivery at once (before the I/O thread spins for a job).
        queue.push(&[9]);
        queue.signal_now();
        assert_eq!(called(), 3);
        tokio::task::yield_now().await;
        assert_eq!(called(), 3, "the signaller finds it requested");
        assert_eq!(queue.take_delivery(), (vec![9], false));
        // The signaller holds the queue weakly: it does not keep an ended pool's queue alive.
        let weak: Weak<CompletionQueue> = Arc::downgrade(&queue);
        drop(queue);
        tokio::task::yield_now().await;
        assert!(weak.upgrade().is_none());
    }

    #[tokio::test]
    async fn a_large_result_waits_for_room_while_the_taker_is_behind_or_stalled() {
        use super::{CompletionQueue, ROOM_BYTES, ROOM_MAX_BYTES, TAKER_STALLED};
        use std::sync::Arc;
        use std::time::Duration;
        let queue = Arc::new(CompletionQueue::default());
        let short = Duration::from_millis(50);
        let waiter = |queue: &Arc<CompletionQueue>| {
            let queue = queue.clone();
            tokio::spawn(async move { queue.room().await })
        };
        // Up to ROOM_BYTES there is always room; a taker that is keeping up gets up to ROOM_MAX_BYTES.
        queue.push(&vec![1u8; ROOM_BYTES]);
        tokio::time::timeout(short, queue.room()).await.expect("at the small bound there is room");
        queue.push(&vec![2u8; ROOM_MAX_BYTES - ROOM_BYTES]);
        tokio::time::timeout(short, queue.room()).await.expect("no take yet: up to the large bound");
        queue.push(&[3u8; 10]);
        let waiting = waiter(&queue);
        tokio::time::sleep(short).await;
        assert!(!waiting.is_finished(), "over the large bound: waits");
        assert_eq!(queue.take_delivery().0.len(), ROOM_BYTES);
        tokio::time::timeout(short, waiting).await.expect("a take wakes the waiter").unwrap();
        // Between the bounds, a taker that took nothing for TAKER_STALLED (a GC pause) holds the result back.
        assert_eq!(queue.try_take().len(), ROOM_MAX_BYTES - ROOM_BYTES + 10);
        queue.push(&vec![4u8; ROOM_BYTES + 1]);
        tokio::time::timeout(short, queue.room()).await.expect("the taker just took: room");
        tokio::time::sleep(TAKER_STALLED * 2).await;
        let waiting = waiter(&queue);
        tokio::time::sleep(short).await;
        assert!(!waiting.is_finished(), "the taker stalled: waits");
        queue.take_delivery();
        tokio::time::timeout(short, waiting).await.expect("the next take wakes the waiter").unwrap();
        // Closing the queue releases a waiter for good.
        queue.push(&vec![5u8; ROOM_MAX_BYTES + 1]);
        let waiting = waiter(&queue);
        tokio::time::sleep(short).await;
        assert!(!waiting.is_finished());
        queue.close();
        tokio::time::timeout(short, waiting).await.expect("closing wakes the waiter").unwrap();
    }

    #[test]
    fn a_recycled_chunk_makes_the_next_one_and_an_oversized_one_is_not_kept() {
        use super::{lock, CompletionQueue, POLL_BYTES};
        let queue = CompletionQueue::default();
        queue.push(&[1, 2, 3, 4]);
        let (chunk, more) = queue.take_delivery();
        assert_eq!((chunk.as_slice(), more), (&[1u8, 2, 3, 4][..], false));
        let at = chunk.as_ptr();
        queue.recycle(chunk);
        queue.push(&[9, 8]);
        let (next, _) = queue.take_delivery();
        assert_eq!(next, [9, 8], "the recycled chunk holds only the new frames");
        assert_eq!(next.as_ptr(), at, "the recycled allocation is reused");
        queue.recycle(Vec::with_capacity(2 * POLL_BYTES + 1));
        assert!(lock(&queue.buf).spare.is_none(), "an oversized chunk is not kept");
    }
}
