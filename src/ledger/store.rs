//! Where ledgers live. Pipelines need the ledger to outlive the build agent, so storage is a
//! small trait; [`FileStore`] is the local implementation (a remote one with a lease as the
//! lock can follow without touching callers).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::lockinfo::{LockInfo, MAX_LOCK_INFO_BYTES};
use super::{Ledger, LedgerError};

/// Ledgers larger than this are refused unread: one records a few hundred bytes per item,
/// so 64 MiB is over a hundred thousand datasets and reports.
pub const MAX_LEDGER_BYTES: u64 = 64 << 20;

/// Proof that the caller holds the ledger's exclusive lock; released on drop. Each backend
/// keeps its own kind of hold inside (an open lock file, a blob lease being renewed).
pub struct LedgerLock {
    held: Box<dyn HeldLock>,
}

/// A backend's hold on its lock, behind [`LedgerLock`].
pub trait HeldLock: Send + Sync + std::any::Any {
    /// `Err` once the lock is lost (a lease whose renewal failed): nothing may be written then.
    fn check(&self) -> Result<(), LedgerError> {
        Ok(())
    }
}

impl LedgerLock {
    /// Wraps a backend's hold.
    pub fn new(held: impl HeldLock) -> Self {
        Self {
            held: Box::new(held),
        }
    }

    /// `Err` once the lock is lost; see [`HeldLock::check`].
    pub fn check(&self) -> Result<(), LedgerError> {
        self.held.check()
    }

    /// The backend's hold, for the backend that made it.
    pub fn held<T: HeldLock>(&self) -> Option<&T> {
        let any: &dyn std::any::Any = &*self.held;
        any.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for LedgerLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LedgerLock")
    }
}

/// The local backend's hold: the locked `.lock` file.
struct FileLock {
    file: File,
}

impl HeldLock for FileLock {}

impl Drop for FileLock {
    /// Unlock explicitly instead of relying on close: an `flock` lock belongs to the open file
    /// description, and a child forked by another thread (before its exec closes the
    /// descriptor) shares it, so closing our descriptor alone could leave the lock held for a
    /// moment after we drop it. Unlocking releases it for every copy at once.
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Storage for one ledger.
pub trait LedgerStore {
    /// Where the ledger lives, for messages.
    fn describe(&self) -> String;
    /// The ledger, or `None` when there is none yet.
    fn load(&self) -> Result<Option<Ledger>, LedgerError>;
    /// The ledger, or a fresh empty one (random salt) when there is none yet: what plan,
    /// apply and `state adopt` start from.
    fn load_or_new(&self) -> Result<Ledger, LedgerError> {
        match self.load()? {
            Some(l) => Ok(l),
            None => Ledger::new(),
        }
    }
    /// Take the exclusive lock without waiting; a held lock is [`LedgerError::Locked`].
    fn lock(&self) -> Result<LedgerLock, LedgerError>;
    /// Replace the ledger atomically; callers must hold the lock.
    fn save(&self, ledger: &Ledger, lock: &LedgerLock) -> Result<(), LedgerError>;
    /// Release the lock `lock_id` left by a run that is gone (`force`: break it even while
    /// its holder may still run). Returns what was done, for the user.
    fn unlock(&self, lock_id: &str, force: bool) -> Result<String, LedgerError> {
        let _ = (lock_id, force);
        Err(LedgerError::Unsupported {
            ledger: self.describe(),
            what: "unlocking (a local lock file is released when its process ends)".into(),
        })
    }
    /// Earlier versions of the ledger kept by the backend, oldest first.
    fn history(&self) -> Result<Vec<LedgerVersion>, LedgerError> {
        Err(LedgerError::Unsupported {
            ledger: self.describe(),
            what: "history (keep a local ledger in version control)".into(),
        })
    }
    /// One earlier version, by the id [`Self::history`] gives.
    fn load_version(&self, id: &str) -> Result<Ledger, LedgerError> {
        let _ = id;
        Err(LedgerError::Unsupported {
            ledger: self.describe(),
            what: "earlier versions (keep a local ledger in version control)".into(),
        })
    }
}

impl std::fmt::Debug for dyn LedgerStore + Send + Sync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LedgerStore({})", self.describe())
    }
}

/// One kept version of a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerVersion {
    /// What `state show --version` takes (a snapshot time for Azure Blob).
    pub id: String,
    /// When it was written (HTTP date).
    pub written: String,
    pub bytes: u64,
}

/// A ledger in a local JSON file, locked through a `.lock` file beside it.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

/// The default ledger path: beside the manifest, one per environment, e.g.
/// `pbideploy.prod.pbideploy-state.json` (`default` without an environment).
pub fn default_path(manifest: &Path, environment: Option<&str>) -> PathBuf {
    let stem = manifest
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pbideploy".to_string());
    let env = environment.unwrap_or("default");
    let name = format!("{stem}.{env}.pbideploy-state.json");
    match manifest.parent() {
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

impl FileStore {
    /// A store for the ledger at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The ledger file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file path (`<ledger>.lock`).
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Temp files of this ledger's writes: `.<ledger file name>.XXXXXX.tmp`, so that each
    /// ledger (one per environment, in the same folder) owns its own.
    fn temp_prefix(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        format!(".{}.", name.unwrap_or_else(|| "pbideploy-state".into()))
    }

    /// Removes temp files a killed writer left behind. Only called with the lock held, when
    /// no other process can be writing this ledger; a failure to remove is harmless.
    fn remove_stale_temps(&self) {
        let prefix = self.temp_prefix();
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn write_err(&self, source: std::io::Error) -> LedgerError {
        LedgerError::Write {
            path: self.describe(),
            source,
        }
    }
}

impl LedgerStore for FileStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    /// The ledger is committed to the repository, so a pull request decides what it is:
    /// only a regular file of at most [`MAX_LEDGER_BYTES`] is read.
    fn load(&self) -> Result<Option<Ledger>, LedgerError> {
        let read =
            crate::untrusted_file::read_regular(&self.path, MAX_LEDGER_BYTES).and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
                })
            });
        match read {
            Ok(text) => Ledger::from_json(&self.describe(), &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LedgerError::Read {
                path: self.describe(),
                source,
            }),
        }
    }

    fn lock(&self) -> Result<LedgerLock, LedgerError> {
        let lock_path = self.lock_path();
        let shown = lock_path.display().to_string();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| LedgerError::Lock {
                lock_path: shown.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {
                self.remove_stale_temps();
                // Who holds it, for a second run's message; the lock works without it.
                let info = LockInfo::current()?;
                let _ = file
                    .set_len(0)
                    .and_then(|()| (&file).write_all(info.to_json().as_bytes()));
                Ok(LedgerLock::new(FileLock { file }))
            }
            Err(TryLockError::WouldBlock) => {
                let held =
                    crate::untrusted_file::read_regular(&lock_path, MAX_LOCK_INFO_BYTES as u64)
                        .ok()
                        .and_then(|b| LockInfo::from_json(&b));
                Err(match held {
                    Some(h) => LedgerError::HeldBy {
                        ledger: self.describe(),
                        holder: format!("{} (lock file {shown})", h.describe()),
                        id: h.id,
                        unlock: "if that process is gone, run again: the lock ended with it".into(),
                    },
                    None => LedgerError::Locked { lock_path: shown },
                })
            }
            Err(TryLockError::Error(source)) => Err(LedgerError::Lock {
                lock_path: shown,
                source,
            }),
        }
    }

    fn save(&self, ledger: &Ledger, _lock: &LedgerLock) -> Result<(), LedgerError> {
        let dir = self.dir();
        let mut tmp = tempfile::Builder::new()
            .prefix(&self.temp_prefix())
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| self.write_err(e))?;
        tmp.write_all(ledger.to_json().as_bytes())
            .and_then(|()| tmp.write_all(b"\n"))
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| self.write_err(e))?;
        tmp.persist(&self.path)
            .map_err(|e| self.write_err(e.error))?;
        // Make the rename itself durable. Directories cannot be opened for sync everywhere
        // (Windows), and the data is already safe there, so a failure to open is ignored.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::Address;
    use crate::ledger::{LedgerEntry, WorkspaceEntry};

    #[test]
    fn default_path_is_beside_the_manifest_per_environment() {
        assert_eq!(
            default_path(Path::new("dir/pbideploy.yaml"), Some("prod")),
            PathBuf::from("dir/pbideploy.prod.pbideploy-state.json")
        );
        assert_eq!(
            default_path(Path::new("m.yaml"), None),
            PathBuf::from("m.default.pbideploy-state.json")
        );
    }

    #[test]
    fn save_load_round_trip_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("s.json"));
        assert_eq!(store.load().unwrap(), None);
        let mut l = Ledger::with_salt("01");
        l.set(
            Address::workspace("W"),
            LedgerEntry::Workspace(WorkspaceEntry {
                id: "1".into(),
                created: false,
            }),
        );
        let lock = store.lock().unwrap();
        store.save(&l, &lock).unwrap();
        l.salt = "02".into();
        store.save(&l, &lock).unwrap();
        assert_eq!(store.load().unwrap(), Some(l));
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn a_second_lock_holder_is_refused_with_the_lock_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("s.json"));
        let first = store.lock().unwrap();
        let err = store.lock().unwrap_err();
        assert!(matches!(err, LedgerError::HeldBy { .. }));
        assert!(err.to_string().contains("s.json.lock"), "{err}");
        assert!(err.to_string().contains("running `pbideploy"), "{err}");
        drop(first);
        assert!(store.lock().is_ok());
    }

    #[test]
    fn taking_the_lock_removes_this_ledgers_stale_temp_files_only() {
        // A writer killed between creating its temp file and the rename leaves it behind.
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("m.prod.pbideploy-state.json"));
        let stale = dir.path().join(".m.prod.pbideploy-state.json.aB3dE9.tmp");
        let other_env = dir.path().join(".m.test.pbideploy-state.json.xY7zQ1.tmp");
        std::fs::write(&stale, "{half a led").unwrap();
        std::fs::write(&other_env, "{in progress").unwrap();
        let _lock = store.lock().unwrap();
        assert!(
            !stale.exists(),
            "the stale temp file of this ledger is removed"
        );
        assert!(other_env.exists(), "another ledger's write is left alone");
    }

    #[test]
    fn a_ledger_that_is_not_a_small_regular_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            // Committed as a symlink to /dev/zero, it used to be read until memory ran out.
            let link = dir.path().join("zero.json");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            let err = FileStore::new(&link).load().unwrap_err().to_string();
            assert!(
                err.contains("a device") && err.contains("zero.json"),
                "{err}"
            );
        }
        let big = dir.path().join("big.json");
        let file = File::create(&big).unwrap();
        file.set_len(MAX_LEDGER_BYTES + 1).unwrap();
        let err = FileStore::new(&big).load().unwrap_err().to_string();
        assert!(err.contains("larger than 64 MiB"), "{err}");
        let err = FileStore::new(dir.path()).load().unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "garbage").unwrap();
        let err = FileStore::new(&path).load().unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }));
        assert!(err.to_string().contains("s.json"));
    }
}
