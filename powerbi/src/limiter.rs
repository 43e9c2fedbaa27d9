//! The adaptive limit on requests in flight, shared by every task of one client, so that
//! apply slows down when the service throttles and speeds up again when it stops.
//!
//! AIMD, as TCP does it: the window (requests allowed in flight) starts at the configured
//! maximum, drops to half the requests actually in flight on a throttling event (429; half
//! the window when more are in flight, so a window larger than the callers' own parallelism
//! still slows them at once) and grows by one after a window's worth of successes. A 429's `Retry-After` also pauses every new request of the client until it has
//! passed, so one throttled task does not leave the others hammering the service. The 429s of
//! requests already in flight when the pause began belong to the same event and do not halve
//! the window again.
//!
//! A window alone cannot keep under a request-rate budget when requests are fast (one
//! request in flight at 25 ms is already 40 per second), so a throttling event also sets a
//! pace: request starts are spaced to 90% of the rate the service just allowed (successes
//! since the previous event over the time since it). Each success shortens the interval by
//! 1%, so the pace creeps back up and is dropped once faster than one start per millisecond.
//!
//! The window is a FIFO [`Semaphore`]: shrinking forgets free permits, or, when all are
//! held, records a debt paid by forgetting permits as they are released.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Limits requests in flight; see the module documentation.
#[derive(Debug)]
pub struct Limiter {
    max: usize,
    permits: Semaphore,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests allowed in flight now.
    window: usize,
    /// Permits to forget when released (the window shrank while they were held).
    debt: usize,
    /// Successes counted towards the next growth step.
    credit: usize,
    /// No new request starts before this instant (the latest `Retry-After`).
    paused_until: Option<Instant>,
    /// Least interval between request starts, set by throttling.
    pace: Option<Duration>,
    /// The start slot the next paced request takes.
    next_start: Option<Instant>,
    /// The previous throttling event (or the first request) and the successes since.
    since: Option<Instant>,
    successes: u32,
}

/// One request's place in the window; released on drop.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    permit: Option<SemaphorePermit<'a>>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let mut state = self.limiter.state();
        if state.debt > 0 {
            state.debt -= 1;
            permit.forget();
        }
    }
}

impl Limiter {
    /// A limiter allowing at most `max` requests in flight (at least one).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            max,
            permits: Semaphore::new(max),
            state: Mutex::new(State {
                window: max,
                debt: 0,
                credit: 0,
                paused_until: None,
                pace: None,
                next_start: None,
                since: None,
                successes: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configured maximum.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Requests allowed in flight now.
    pub fn window(&self) -> usize {
        self.state().window
    }

    /// The instant before which no request starts, when a throttling pause is in force.
    pub fn paused_until(&self) -> Option<Instant> {
        self.state().paused_until.filter(|t| *t > Instant::now())
    }

    /// The least interval between request starts, when throttling set one.
    pub fn pace(&self) -> Option<Duration> {
        self.state().pace
    }

    /// Waits for a place in the window, then for any throttling pause to end, then for the
    /// request's start slot when a pace is set.
    pub async fn acquire(&self) -> Permit<'_> {
        // The semaphore is never closed, so acquire cannot fail; were it to, the request
        // simply goes unlimited rather than failing.
        let permit = self.permits.acquire().await.ok();
        while let Some(until) = self.paused_until() {
            tokio::time::sleep_until(until).await;
        }
        if let Some(slot) = self.take_slot() {
            tokio::time::sleep_until(slot).await;
        }
        Permit {
            limiter: self,
            permit,
        }
    }

    /// Reserves the next start slot when paced (slots are handed out in order, so waiting
    /// requests keep their turn).
    fn take_slot(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut state = self.state();
        state.since.get_or_insert(now);
        let pace = state.pace?;
        let slot = state.next_start.map_or(now, |t| t.max(now));
        state.next_start = Some(slot + pace);
        (slot > now).then_some(slot)
    }

    /// A request succeeded: grow the window by one after a window's worth of successes.
    pub fn succeeded(&self) {
        let mut state = self.state();
        state.successes = state.successes.saturating_add(1);
        if let Some(pace) = state.pace {
            let faster = pace.mul_f64(0.99);
            state.pace = (faster >= Duration::from_millis(1)).then_some(faster);
        }
        if state.window >= self.max {
            state.credit = 0;
            return;
        }
        state.credit += 1;
        if state.credit < state.window {
            return;
        }
        state.credit = 0;
        state.window += 1;
        if state.debt > 0 {
            state.debt -= 1;
        } else {
            self.permits.add_permits(1);
        }
    }

    /// The service throttled a request (call it while the request's permit is held): pause
    /// every new request for `retry_after` and, unless this 429 belongs to a pause already in
    /// force, halve the window, or the requests in flight when fewer.
    pub fn throttled(&self, retry_after: Duration) {
        let now = Instant::now();
        let mut state = self.state();
        let same_event = state.paused_until.is_some_and(|t| t > now);
        let until = now + retry_after;
        state.paused_until = Some(state.paused_until.map_or(until, |t| t.max(until)));
        if same_event {
            return;
        }
        let elapsed = now - *state.since.get_or_insert(now);
        if state.successes > 0 && !elapsed.is_zero() {
            // 90% of the rate allowed since the previous event.
            state.pace = Some(elapsed.div_f64(f64::from(state.successes) * 0.9));
        }
        state.since = Some(now);
        state.successes = 0;
        let held = (state.window + state.debt).saturating_sub(self.permits.available_permits());
        let base = state.window.min(held.max(1));
        let shrink = state.window - (base / 2).max(1);
        state.window -= shrink;
        state.credit = 0;
        let forgotten = self.permits.forget_permits(shrink);
        state.debt += shrink - forgotten;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(l: &Limiter) -> usize {
        l.permits.available_permits()
    }

    async fn hold(l: &Limiter, n: usize) -> Vec<Permit<'_>> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(l.acquire().await);
        }
        held
    }

    #[tokio::test]
    async fn a_window_wider_than_the_requests_in_flight_drops_to_half_of_them() {
        let l = Limiter::new(16);
        let held = hold(&l, 8).await;
        l.throttled(Duration::from_millis(1));
        assert_eq!(l.window(), 4);
        drop(held);
        assert_eq!(free(&l), 4);
    }

    #[tokio::test]
    async fn starts_at_max_and_caps_in_flight() {
        let l = Limiter::new(3);
        let a = l.acquire().await;
        let b = l.acquire().await;
        let c = l.acquire().await;
        assert_eq!(free(&l), 0);
        let waiting = tokio::time::timeout(Duration::from_millis(20), l.acquire()).await;
        assert!(waiting.is_err(), "a fourth request must wait");
        drop((a, b, c));
        assert_eq!(free(&l), 3);
    }

    #[tokio::test]
    async fn a_429_halves_the_window_once_per_event_and_pauses_everyone() {
        let ms = Duration::from_millis;
        let l = Limiter::new(8);
        let held = hold(&l, 8).await;
        l.throttled(ms(60));
        assert_eq!(l.window(), 4);
        drop(held);
        assert_eq!(free(&l), 4);
        // Other requests in flight at the time answer 429 too: same event, no second halving.
        l.throttled(ms(10));
        assert_eq!(l.window(), 4);
        let start = Instant::now();
        let _held = hold(&l, 4).await;
        assert!(start.elapsed() >= ms(50), "the pause holds new requests");
        // After the pause a new 429 is a new event.
        l.throttled(ms(5));
        assert_eq!(l.window(), 2);
        l.throttled(ms(5));
        tokio::time::sleep(ms(6)).await;
        l.throttled(ms(5));
        assert_eq!(l.window(), 1);
        tokio::time::sleep(ms(6)).await;
        l.throttled(ms(5));
        assert_eq!(l.window(), 1, "never below one");
    }

    #[tokio::test]
    async fn shrinking_while_all_permits_are_held_is_paid_on_release() {
        let l = Limiter::new(4);
        let permits = hold(&l, 4).await;
        l.throttled(Duration::from_millis(1));
        assert_eq!(l.window(), 2);
        drop(permits);
        assert_eq!(free(&l), 2, "two permits forgotten on release");
    }

    #[tokio::test]
    async fn throttling_paces_starts_to_the_rate_allowed_and_successes_speed_it_up() {
        let ms = Duration::from_millis;
        let l = Limiter::new(4);
        drop(l.acquire().await);
        assert_eq!(l.pace(), None, "no pace before any throttling");
        for _ in 0..9 {
            l.succeeded();
        }
        tokio::time::sleep(ms(90)).await;
        l.throttled(ms(1));
        // 9 successes in at least 90 ms: at most 90 per second allowed, paced to 90% of it.
        let pace = l.pace().expect("paced after a 429");
        assert!(pace >= ms(11), "{pace:?}");
        let start = Instant::now();
        for _ in 0..3 {
            drop(l.acquire().await);
        }
        assert!(start.elapsed() >= pace * 2, "starts are spaced by the pace");
        l.succeeded();
        assert!(
            l.pace().expect("still paced") < pace,
            "a success speeds the pace up"
        );
        for _ in 0..1000 {
            l.succeeded();
        }
        assert_eq!(
            l.pace(),
            None,
            "the pace is dropped once it no longer limits"
        );
    }

    #[tokio::test]
    async fn successes_grow_the_window_back_to_max_additively() {
        let l = Limiter::new(8);
        let held = hold(&l, 8).await;
        l.throttled(Duration::from_millis(1));
        tokio::time::sleep(Duration::from_millis(2)).await;
        l.throttled(Duration::from_millis(1));
        assert_eq!(l.window(), 2);
        drop(held);
        l.succeeded();
        assert_eq!(l.window(), 2, "one success is not a window's worth");
        l.succeeded();
        assert_eq!(l.window(), 3);
        for _ in 0..3 {
            l.succeeded();
        }
        assert_eq!(l.window(), 4);
        for _ in 0..100 {
            l.succeeded();
        }
        assert_eq!(l.window(), 8, "capped at max");
        assert_eq!(free(&l), 8);
    }
}
