//! Checkpoints: each successful step is written to the ledger at once, atomically, under the
//! lock held for the whole apply, so a failure or a kill loses at most the steps in flight.
//!
//! Writes are group commits: a step's record returns once a save that includes its change is
//! durable, and steps finishing while a save is under way share the next save. A durable save
//! costs two fsyncs (tens of milliseconds on a busy disk); one per step would serialise the
//! whole apply behind the disk.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::ledger::store::{LedgerLock, LedgerStore};
use crate::ledger::{DatasetEntry, Ledger, LedgerEntry, LedgerError, ReportEntry};
use crate::plan::address::Address;

/// The ledger, its store and the lock, shared by the running steps.
pub struct Checkpoint {
    /// The ledger and its version (bumped by every record).
    ledger: Mutex<(Ledger, u64)>,
    /// The version last saved; held while saving, so one save runs at a time.
    saved: Mutex<u64>,
    store: Option<(Box<dyn LedgerStore + Send + Sync>, LedgerLock)>,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("store", &self.store.as_ref().map(|(s, _)| s.describe()))
            .finish()
    }
}

impl Checkpoint {
    /// Lock `store`, load its ledger (or start a new one) and keep the lock until dropped.
    pub fn open(store: Box<dyn LedgerStore + Send + Sync>) -> Result<Self, LedgerError> {
        let lock = store.lock()?;
        let ledger = match store.load()? {
            Some(l) => l,
            None => Ledger::new()?,
        };
        Ok(Self::locked(store, lock, ledger))
    }

    /// Keep checkpointing `ledger`, which the caller read from `store` under `lock` (held
    /// since before it planned, so no other run changed the ledger in between).
    pub fn locked(
        store: Box<dyn LedgerStore + Send + Sync>,
        lock: LedgerLock,
        ledger: Ledger,
    ) -> Self {
        Self {
            ledger: Mutex::new((ledger, 0)),
            saved: Mutex::new(0),
            store: Some((store, lock)),
        }
    }

    /// A checkpoint kept only in memory (tests, dry runs).
    pub fn in_memory(ledger: Ledger) -> Self {
        Self {
            ledger: Mutex::new((ledger, 0)),
            saved: Mutex::new(0),
            store: None,
        }
    }

    /// `Err` once the ledger lock is lost: nothing more may be done or written.
    pub fn check(&self) -> Result<(), LedgerError> {
        match &self.store {
            Some((_, lock)) => lock.check(),
            None => Ok(()),
        }
    }

    /// A copy of the ledger as it is now.
    pub fn snapshot(&self) -> Ledger {
        self.with(|l| l.clone())
    }

    /// The ledger's salt (for credential fingerprints).
    pub fn salt(&self) -> String {
        self.with(|l| l.salt.clone())
    }

    fn state(&self) -> MutexGuard<'_, (Ledger, u64)> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        f(&mut self.state().0)
    }

    /// Apply `f` to the ledger and return once a save including it is durable.
    pub fn record(&self, f: impl FnOnce(&mut Ledger)) -> Result<(), LedgerError> {
        let mine = {
            let mut state = self.state();
            f(&mut state.0);
            state.1 += 1;
            state.1
        };
        let Some((store, lock)) = &self.store else {
            return Ok(());
        };
        blocking(|| {
            let mut saved = self.saved.lock().unwrap_or_else(PoisonError::into_inner);
            if *saved >= mine {
                // A save that began after this change was made already covered it.
                return Ok(());
            }
            let (ledger, version) = {
                let state = self.state();
                (state.0.clone(), state.1)
            };
            store.save(&ledger, lock)?;
            *saved = version;
            Ok(())
        })
    }
}

/// Runs `f`, which may block on the disk, without stalling the other tasks of a
/// multi-threaded runtime.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Update the dataset entry at `addr` (created with `dataset_id` when absent).
pub fn update_dataset(
    ledger: &mut Ledger,
    addr: &Address,
    dataset_id: &str,
    f: impl FnOnce(&mut DatasetEntry),
) {
    let mut entry = match ledger.entries.remove(addr) {
        Some(LedgerEntry::Dataset(d)) => d,
        _ => DatasetEntry::default(),
    };
    if entry.dataset_id.is_empty() || !dataset_id.is_empty() {
        entry.dataset_id = dataset_id.to_string();
    }
    f(&mut entry);
    ledger
        .entries
        .insert(addr.clone(), LedgerEntry::Dataset(entry));
}

/// Update the report entry at `addr` (created with `report_id` when absent).
pub fn update_report(
    ledger: &mut Ledger,
    addr: &Address,
    report_id: &str,
    f: impl FnOnce(&mut ReportEntry),
) {
    let mut entry = match ledger.entries.remove(addr) {
        Some(LedgerEntry::Report(r)) => r,
        _ => ReportEntry::default(),
    };
    if entry.report_id.is_empty() || !report_id.is_empty() {
        entry.report_id = report_id.to_string();
    }
    f(&mut entry);
    ledger
        .entries
        .insert(addr.clone(), LedgerEntry::Report(entry));
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::ledger::WorkspaceEntry;
    use crate::ledger::store::FileStore;

    /// A file store whose saves are slow (a busy disk) and counted.
    struct SlowStore {
        inner: FileStore,
        saves: std::sync::Arc<AtomicUsize>,
    }

    impl LedgerStore for SlowStore {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn load(&self) -> Result<Option<Ledger>, LedgerError> {
            self.inner.load()
        }
        fn lock(&self) -> Result<LedgerLock, LedgerError> {
            self.inner.lock()
        }
        fn save(&self, ledger: &Ledger, lock: &LedgerLock) -> Result<(), LedgerError> {
            std::thread::sleep(Duration::from_millis(40));
            self.saves.fetch_add(1, Ordering::SeqCst);
            self.inner.save(ledger, lock)
        }
    }

    #[test]
    fn steps_finishing_together_share_a_save_and_each_returns_once_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let saves = std::sync::Arc::new(AtomicUsize::new(0));
        let store = SlowStore {
            inner: FileStore::new(&path),
            saves: saves.clone(),
        };
        let cp = Checkpoint::open(Box::new(store)).unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let (cp, path) = (&cp, &path);
                s.spawn(move || {
                    let addr = Address::workspace(&format!("W{i}"));
                    let entry = LedgerEntry::Workspace(WorkspaceEntry {
                        id: format!("id-{i}"),
                        created: true,
                    });
                    cp.record(|l| l.set(addr, entry)).unwrap();
                    // Durable when record returns: the file on disk has this step's entry.
                    let text = std::fs::read_to_string(path).unwrap();
                    assert!(text.contains(&format!("id-{i}")), "{text}");
                });
            }
        });
        let n = saves.load(Ordering::SeqCst);
        assert!((1..8).contains(&n), "8 records in {n} saves");
    }
}
