//! Checkpoints: each successful step is written to the ledger at once, atomically, under the
//! lock held for the whole apply, so a failure or a kill loses at most the step in flight.

use std::sync::Mutex;

use crate::ledger::store::{LedgerLock, LedgerStore};
use crate::ledger::{DatasetEntry, Ledger, LedgerEntry, LedgerError, ReportEntry};
use crate::plan::address::Address;

/// The ledger, its store and the lock, shared by the running steps.
pub struct Checkpoint {
    ledger: Mutex<Ledger>,
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
            ledger: Mutex::new(ledger),
            store: Some((store, lock)),
        }
    }

    /// A checkpoint kept only in memory (tests, dry runs).
    pub fn in_memory(ledger: Ledger) -> Self {
        Self {
            ledger: Mutex::new(ledger),
            store: None,
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

    fn with<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        let mut guard = match self.ledger.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Apply `f` to the ledger and save it at once.
    pub fn record(&self, f: impl FnOnce(&mut Ledger)) -> Result<(), LedgerError> {
        self.with(|ledger| {
            f(ledger);
            match &self.store {
                Some((store, lock)) => store.save(ledger, lock),
                None => Ok(()),
            }
        })
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
