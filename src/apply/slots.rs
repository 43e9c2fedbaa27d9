//! Step slots: at most `parallelism` steps work at once, and a freed slot goes to the waiting
//! step with the highest priority (the executor gives steps deeper in a dataset's chain a
//! higher one), so the steps that finish a dataset's chain run before new imports start and
//! the last import is not followed by a long tail of follow-up steps.
//!
//! Waiting is not work: a step that waits on the service (an import or a refresh processing)
//! gives its slot back for the wait ([`Slot::idle`]) and takes one again, ahead of every
//! waiting step, when the wait is over.

use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

/// The pool of step slots shared by one apply.
#[derive(Debug)]
pub struct Slots {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    free: usize,
    waiters: BinaryHeap<Waiter>,
    /// Arrival counter: among equal priorities the earlier waiter goes first.
    arrivals: u64,
}

#[derive(Debug)]
struct Waiter {
    priority: u32,
    arrival: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority && self.arrival == other.arrival
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    /// Higher priority first, then earlier arrival (the heap pops the greatest).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.arrival.cmp(&self.arrival))
    }
}

/// The priority a step takes its slot back with after waiting: ahead of every step.
const RESUME: u32 = u32::MAX;

impl Slots {
    /// A pool of `n` slots (at least one).
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                free: n.max(1),
                waiters: BinaryHeap::new(),
                arrivals: 0,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update is a single statement group under the lock: a poisoned lock is usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot; higher `priority` is served first.
    pub async fn acquire(self: &Arc<Self>, priority: u32) -> Slot {
        self.take(priority).await;
        Slot {
            slots: self.clone(),
            held: Mutex::new(true),
        }
    }

    async fn take(&self, priority: u32) {
        let rx = {
            let mut state = self.state();
            if state.free > 0 && state.waiters.is_empty() {
                state.free -= 1;
                return;
            }
            let (tx, rx) = oneshot::channel();
            state.arrivals += 1;
            let arrival = state.arrivals;
            state.waiters.push(Waiter {
                priority,
                arrival,
                wake: tx,
            });
            rx
        };
        // The sender is dropped only by `release`, after it handed the slot to this waiter.
        let _ = rx.await;
    }

    /// Hands a freed slot to the best waiter still waiting, or puts it back.
    fn release(&self) {
        let mut state = self.state();
        while let Some(w) = state.waiters.pop() {
            if w.wake.send(()).is_ok() {
                return;
            }
        }
        state.free += 1;
    }

    /// Free slots now (for tests).
    pub fn free(&self) -> usize {
        self.state().free
    }
}

/// One step's slot; given back on drop.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    held: Mutex<bool>,
}

impl Slot {
    fn held(&self) -> MutexGuard<'_, bool> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `wait` (a wait on the service) without the slot, then takes a slot again ahead of
    /// the steps waiting for one, so the step finishes and wakes its dependents at once.
    pub async fn idle<F: Future>(&self, wait: F) -> F::Output {
        let was_held = std::mem::replace(&mut *self.held(), false);
        if was_held {
            self.slots.release();
        }
        let out = wait.await;
        if was_held {
            self.slots.take(RESUME).await;
            *self.held() = true;
        }
        out
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if *self.held() {
            self.slots.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_highest_priority_then_the_earliest() {
        let slots = Slots::new(1);
        let first = slots.acquire(0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("import a", 1),
            ("params", 3),
            ("import b", 1),
            ("creds", 3),
        ] {
            let slots = slots.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire(priority).await;
                order.lock().unwrap().push(name);
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["params", "creds", "import a", "import b"]
        );
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn a_step_waiting_on_the_service_gives_its_slot_away() {
        let slots = Slots::new(1);
        let waiting = slots.acquire(1).await;
        let other = slots.clone();
        let (done_tx, done_rx) = oneshot::channel();
        let wait = waiting.idle(async move {
            // Another step gets the only slot while this one waits.
            let _slot = other.acquire(0).await;
            done_tx.send(()).ok();
        });
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("the other step ran during the wait");
        assert!(done_rx.await.is_ok());
        assert_eq!(slots.free(), 0, "the waiting step holds its slot again");
        drop(waiting);
        assert_eq!(slots.free(), 1);
    }
}
