//! The two short spins of a connection driver, and the back-off that keeps them cheap.
//!
//! Waiting on a channel or a socket parks the I/O thread, and waking it costs more than the work a
//! short query needs. When the next event is likely within microseconds (the caller's next query
//! right after a result; the answer to the pool's only query) the driver polls for a short while
//! instead. Each spin that catches nothing makes the next ones rarer, so idle or distant traffic
//! (real DSQL is a millisecond away) pays almost nothing.

use crate::core::wire::Query;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The answer to the one query in flight in the whole pool (someone awaiting queries one after
/// another): for a short while the task yields instead of waiting, so the worker polls the sockets
/// (epoll with no timeout) rather than parking, and the answer is read as soon as it arrives instead
/// of after this thread's wake-up. Adaptive like [`Spinner`]: a wait that outlasts the spin turns it
/// off for a growing number of waits, so a distant server (real DSQL: a millisecond away) costs
/// almost nothing. Never on a single CPU, where the spin would take the CPU from the JS thread.
#[derive(Default)]
pub(super) struct AnswerSpin {
    /// Spinning for the current wait until then.
    until: Option<Instant>,
    /// Whether the current wait has been looked at (it spins from its start or not at all).
    decided: bool,
    backoff: Backoff,
}

const ANSWER_SPIN_FOR: Duration = Duration::from_micros(500);

fn several_cpus() -> bool {
    static SEVERAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SEVERAL.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

impl AnswerSpin {
    /// Whether to keep polling now; `running` queries are in flight on this connection, `alone`
    /// says whether this one query is all the pool has.
    pub(super) fn active(&mut self, running: usize, alone: impl FnOnce() -> bool) -> bool {
        if running != 1 {
            if running > 1 {
                self.until = None;
                self.decided = true;
            }
            return false;
        }
        if let Some(t) = self.until {
            if Instant::now() < t {
                return true;
            }
            self.until = None;
            self.backoff.miss();
            return false;
        }
        if self.decided {
            return false;
        }
        self.decided = true;
        if !self.backoff.ready() || !several_cpus() || !alone() {
            return false;
        }
        self.until = Some(Instant::now() + ANSWER_SPIN_FOR);
        true
    }

    /// A query finished: a spin that was on caught its answer.
    pub(super) fn finished(&mut self) {
        if self.until.take().is_some() {
            self.backoff.hit();
        }
        self.decided = false;
    }
}

/// Awaiting queries one after another: after a result is delivered, the caller's next query usually
/// arrives within tens of microseconds. Waiting for it in a short spin instead of parking the I/O
/// thread saves a thread wake-up (on the submitting side, a wake of a running task is free) on each
/// query's critical path. Adaptive: a spin that catches nothing turns spinning off for a growing
/// number of idle moments, so sporadic traffic pays almost nothing.
#[derive(Default)]
pub(super) struct Spinner {
    backoff: Backoff,
}

const SPIN_FOR: Duration = Duration::from_micros(100);

/// The back-off of both spins: each spin that catches nothing doubles the number of chances let pass
/// before the next one (2, 4, ... 1,024); one that catches something ends it.
#[derive(Default)]
struct Backoff {
    /// Chances to let pass before spinning again.
    skip: u32,
    /// Consecutive spins that caught nothing.
    misses: u32,
}

impl Backoff {
    /// Whether this chance may spin (one let pass otherwise).
    pub(super) fn ready(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    fn miss(&mut self) {
        self.misses = (self.misses + 1).min(10);
        self.skip = 1 << self.misses;
    }

    fn hit(&mut self) {
        self.misses = 0;
    }
}

impl Spinner {
    pub(super) fn ready(&mut self) -> bool {
        self.backoff.ready()
    }

    pub(super) fn spin(&mut self, rx: &mut mpsc::UnboundedReceiver<Query>) -> Option<Query> {
        let until = Instant::now() + SPIN_FOR;
        loop {
            for _ in 0..64 {
                match rx.try_recv() {
                    Ok(job) => {
                        self.backoff.hit();
                        return Some(job);
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => return None,
                    Err(mpsc::error::TryRecvError::Empty) => std::hint::spin_loop(),
                }
            }
            // Whoever was woken onto this CPU (the JS thread making that job) runs first.
            std::thread::yield_now();
            if Instant::now() >= until {
                self.backoff.miss();
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn answer_spin_polls_for_a_lone_query_and_backs_off_when_the_answer_is_slow() {
        use super::{AnswerSpin, ANSWER_SPIN_FOR};
        if !super::several_cpus() {
            return; // it never spins on one CPU (checked by the assertion below being skipped)
        }
        let mut a = AnswerSpin::default();
        assert!(!a.active(0, || true), "nothing in flight: no spin");
        assert!(!a.active(1, || false), "other queries in the pool: no spin");
        assert!(!a.active(1, || true), "decided once per wait");
        a.finished();
        assert!(a.active(1, || true), "the pool's one query: spin");
        assert!(a.active(1, || unreachable!()), "still within the budget");
        a.finished(); // answered in time: no back-off
        assert!(a.active(1, || true));
        assert!(!a.active(2, || true), "a second query joined: stop");
        a.finished();
        // A slow answer: the spin ends after its budget, then 2 waits skip it, then 4.
        assert!(a.active(1, || true));
        std::thread::sleep(ANSWER_SPIN_FOR);
        assert!(!a.active(1, || true));
        let spun = |a: &mut AnswerSpin| {
            a.finished();
            a.active(1, || true)
        };
        assert_eq!((0..3).map(|_| spun(&mut a)).collect::<Vec<_>>(), [false, false, true]);
        std::thread::sleep(ANSWER_SPIN_FOR);
        assert!(!a.active(1, || true));
        assert_eq!((0..5).filter(|_| spun(&mut a)).count(), 1);
        a.finished(); // the answer came while spinning: back-off reset
        assert!(spun(&mut a));
    }

    #[test]
    fn spinner_catches_a_waiting_job_and_backs_off_when_none_comes() {
        use super::{Spinner, SPIN_FOR};
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = Spinner::default();
        let t0 = std::time::Instant::now();
        assert!(s.ready() && s.spin(&mut rx).is_none());
        assert!(t0.elapsed() >= SPIN_FOR, "a miss spins for the whole budget");
        // One miss: the next 2 idle moments skip spinning; two misses: the next 4.
        assert_eq!((0..3).map(|_| s.ready()).collect::<Vec<_>>(), [false, false, true]);
        assert!(s.spin(&mut rx).is_none());
        assert_eq!((0..5).filter(|_| s.ready()).count(), 1);
        let job =
            crate::core::wire::Query { id: 9, conn: 0, flags: 0, sql: "select 1".into(), params: vec![], batch: 0 };
        tx.send(job).unwrap();
        assert_eq!(s.spin(&mut rx).map(|j| j.id), Some(9));
        assert!(s.ready(), "a hit resets the back-off");
        drop(tx);
        let t0 = std::time::Instant::now();
        assert!(s.spin(&mut rx).is_none() && t0.elapsed() < SPIN_FOR, "a closed channel ends the spin at once");
    }
}
