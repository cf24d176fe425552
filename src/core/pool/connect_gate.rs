//! The pool's back-off between connection attempts after failures.

use crate::core::lock;
use crate::core::runtime::{self, Instant};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// The first back-off after a failed connection attempt; it doubles with each failure in a row up
/// to [`CONNECT_BACKOFF_CAP`], and each delay is jittered to between half and all of that.
const CONNECT_BACKOFF_BASE: Duration = Duration::from_millis(20);
/// At most this long between two attempts while the server stays unreachable: a pool makes 2 to 4
/// attempts per second then (each a TCP and TLS handshake and a token check for the server), and
/// its first attempt after the server is back comes within this long.
const CONNECT_BACKOFF_CAP: Duration = Duration::from_millis(500);
/// How long attempts stay spaced after a failure streak ended with a success.
const CONNECT_RECOVERY: Duration = Duration::from_secs(1);

/// The pool's back-off between connection attempts. One failure streak is shared by all of the
/// pool's attempts (every kind of failure counts: refused, reset, timeout, TLS, credentials, an
/// error from the server such as 08xxx, 28xxx, 57P0x, 53300/53400), and one success ends it. While
/// a streak lasts, attempts start one at a time, each at least a back-off delay after the previous
/// one, so a pool whose server is down makes a few attempts per second however many queries and
/// connections wait; without a streak, attempts start at once.
#[derive(Default)]
pub(super) struct ConnectGate {
    state: Mutex<GateState>,
    /// Wakes the attempts waiting for their turn when one succeeded.
    recovered: Notify,
}

#[derive(Default)]
struct GateState {
    /// Failed attempts since the last success; 1 after a success that ended a longer streak, until
    /// [`CONNECT_RECOVERY`] has passed without a failure (attempts then stay spaced by the base delay,
    /// so a pool that was refused does not send all its waiting attempts at once when one gets through).
    streak: u32,
    /// The earliest start of the next attempt while the streak lasts.
    next: Option<Instant>,
    last_failure: Option<Instant>,
}

impl GateState {
    fn quiet(&self) -> bool {
        self.last_failure.is_none_or(|t| t.elapsed() >= CONNECT_RECOVERY)
    }
}

impl ConnectGate {
    /// Waits for this attempt's turn.
    pub(super) async fn turn(&self) {
        loop {
            let recovered = self.recovered.notified();
            let at = {
                let mut g = lock(&self.state);
                let now = Instant::now();
                if g.streak == 1 && g.quiet() {
                    g.streak = 0;
                    g.next = None;
                }
                match g.next {
                    _ if g.streak == 0 => return,
                    Some(t) if t > now => t,
                    _ => {
                        // This attempt starts now; the next one waits a delay after it even if this
                        // one takes long to fail.
                        g.next = Some(now + backoff_delay(g.streak));
                        return;
                    }
                }
            };
            tokio::select! {
                _ = runtime::sleep_until(Some(at)) => {}
                _ = recovered => {}
            }
        }
    }

    pub(super) fn failed(&self) {
        let mut g = lock(&self.state);
        g.streak = g.streak.saturating_add(1);
        g.last_failure = Some(Instant::now());
        let at = Instant::now() + backoff_delay(g.streak);
        g.next = Some(g.next.map_or(at, |t| t.max(at)));
    }

    /// Ends a streak: the waiting attempts go, one base delay apart until the failures have been quiet
    /// for [`CONNECT_RECOVERY`] (a rate limit that let one through may refuse a burst).
    pub(super) fn succeeded(&self) {
        let mut g = lock(&self.state);
        if g.streak != 0 {
            g.streak = if g.streak == 1 && g.quiet() { 0 } else { 1 };
            g.next = None;
            drop(g);
            self.recovered.notify_waiters();
        }
    }
}

/// The back-off after `streak` failures in a row: [`CONNECT_BACKOFF_BASE`] × 2^(streak-1), at most
/// [`CONNECT_BACKOFF_CAP`], times a random factor between 0.5 and 1 (attempts of several pools
/// that failed together do not stay in step).
fn backoff_delay(streak: u32) -> Duration {
    let cap = CONNECT_BACKOFF_BASE.saturating_mul(1 << streak.saturating_sub(1).min(10)).min(CONNECT_BACKOFF_CAP);
    cap.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn connect_gate_spaces_attempts_while_they_fail_and_a_success_releases_them() {
        use super::{ConnectGate, CONNECT_BACKOFF_CAP};
        use std::sync::Arc;
        use std::time::{Duration, Instant};
        let gate = Arc::new(ConnectGate::default());
        let t0 = Instant::now();
        gate.turn().await;
        gate.turn().await;
        assert!(t0.elapsed() < Duration::from_millis(5), "no failure streak: attempts start at once");
        for _ in 0..20 {
            gate.failed();
        }
        // At the cap: each attempt waits between half and all of it after the previous one.
        let t0 = Instant::now();
        gate.turn().await;
        let first = t0.elapsed();
        assert!(
            first >= CONNECT_BACKOFF_CAP / 2 - Duration::from_millis(5)
                && first <= CONNECT_BACKOFF_CAP + Duration::from_millis(50),
            "{first:?}"
        );
        let g = gate.clone();
        let waiter = tokio::spawn(async move {
            g.turn().await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "the next attempt waits its turn");
        let ok = Instant::now();
        gate.succeeded();
        let went = waiter.await.unwrap();
        assert!(went.duration_since(ok) < Duration::from_millis(20), "a success lets the waiting attempts go");
        // For a while after the streak, attempts go one base delay apart (no burst into a rate limit).
        let t0 = Instant::now();
        gate.turn().await;
        assert!(t0.elapsed() <= super::CONNECT_BACKOFF_BASE + Duration::from_millis(20), "{:?}", t0.elapsed());
        // Once failures have been quiet for the recovery time, attempts start at once again.
        tokio::time::sleep(super::CONNECT_RECOVERY).await;
        gate.succeeded();
        let t0 = Instant::now();
        gate.turn().await;
        gate.turn().await;
        assert!(t0.elapsed() < Duration::from_millis(5), "the streak is over");
    }
}
