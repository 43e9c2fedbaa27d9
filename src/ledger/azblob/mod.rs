//! The ledger in Azure Blob Storage, locked with a blob lease: a team's pipelines and
//! engineers share one ledger without committing it to git.
//!
//! The ledger blob itself is leased (finite, renewed in the background while the run holds
//! it); who holds the lease is written as blob metadata with it. Every write is conditional
//! on the ETag this process last read or wrote (`If-Match`) and carries the lease id, so a
//! run that lost its lease, or a writer that skipped the lock, cannot overwrite a newer
//! ledger. Before a run's first write the previous ledger is kept as a blob snapshot
//! (`state history`, `state show --version`). Azurite, the Azure Storage emulator, supports
//! leases and snapshots, so all of this is tested against it.

pub mod auth;
mod lease;
pub mod location;
pub mod rest;
mod xml;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;

use self::lease::Lease;
use self::rest::{BlobClient, Call, Reply};
use super::lockinfo::LockInfo;
use super::store::{HeldLock, LedgerLock, LedgerStore, LedgerVersion, MAX_LEDGER_BYTES};
use super::{Ledger, LedgerError};

pub use self::auth::Credential;
pub use self::location::BlobLocation;

/// The metadata header carrying the lock holder (base64 of [`LockInfo`] JSON).
const LOCK_META: &str = "x-ms-meta-pbideploylock";
/// Snapshots kept by default: one per run that wrote, the oldest deleted beyond this.
pub const KEEP_SNAPSHOTS: usize = 30;
/// Allowed lease durations (the service's limits for a finite lease).
pub const LEASE_SECS: std::ops::RangeInclusive<u32> = 15..=60;

/// A ledger blob.
pub struct AzBlobStore {
    client: Arc<BlobClient>,
    lease_secs: u32,
    /// The ETag this process last read or wrote: the condition of its next write.
    etag: Mutex<Option<String>>,
    /// A non-empty ledger was read and not yet kept as a snapshot by this run.
    snapshot_due: AtomicBool,
    /// How many snapshots to keep.
    keep: usize,
}

impl AzBlobStore {
    /// A store for the blob at `location`; `lease_secs` within [`LEASE_SECS`].
    pub fn new(
        location: BlobLocation,
        credential: Credential,
        lease_secs: u32,
    ) -> Result<Self, LedgerError> {
        if !LEASE_SECS.contains(&lease_secs) {
            return Err(LedgerError::Config(format!(
                "the state lease duration {lease_secs} s is outside 15-60 s"
            )));
        }
        let client = BlobClient::new(location, credential).map_err(LedgerError::Config)?;
        Ok(Self {
            client: Arc::new(client),
            lease_secs,
            etag: Mutex::new(None),
            snapshot_due: AtomicBool::new(false),
            keep: KEEP_SNAPSHOTS,
        })
    }

    /// Keeps `keep` snapshots (at least one) instead of [`KEEP_SNAPSHOTS`].
    #[must_use]
    pub fn keeping(mut self, keep: usize) -> Self {
        self.keep = keep.max(1);
        self
    }

    /// Requests sent to the storage account so far (tests and benches count them).
    pub fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    fn remote(&self, detail: String) -> LedgerError {
        LedgerError::Remote {
            ledger: self.describe(),
            detail,
        }
    }

    fn send(&self, call: Call) -> Result<Reply, LedgerError> {
        self.client.send(call).map_err(|e| self.remote(e))
    }

    fn set_etag(&self, reply: &Reply) {
        *self.etag.lock().unwrap_or_else(PoisonError::into_inner) =
            reply.header("etag").map(str::to_owned);
    }

    fn etag(&self) -> Option<String> {
        self.etag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The lease state and holder, from the blob's properties (one HEAD).
    fn holder(&self) -> Result<(bool, Option<LockInfo>), LedgerError> {
        let reply = self.send(Call {
            method: Method::HEAD,
            idempotent: true,
            ..Call::default()
        })?;
        if !reply.status.is_success() {
            return Err(self.remote(reply.error("reading the lock holder")));
        }
        let leased = reply.header("x-ms-lease-state") == Some("leased");
        let info = reply
            .header(LOCK_META)
            .and_then(|v| STANDARD.decode(v).ok())
            .and_then(|b| LockInfo::from_json(&b));
        Ok((leased, info))
    }

    fn held_error(&self) -> LedgerError {
        match self.holder() {
            Ok((_, Some(info))) => LedgerError::HeldBy {
                ledger: self.describe(),
                holder: info.describe(),
                unlock: format!(
                    "if that run is gone, break the lock with `pbideploy state unlock {} --force` (its lease also expires by itself, at most {} s after its last renewal)",
                    info.id,
                    LEASE_SECS.end()
                ),
                id: info.id,
            },
            Ok((_, None)) => LedgerError::HeldBy {
                ledger: self.describe(),
                holder: "a lease without pbideploy lock metadata (another tool?)".into(),
                unlock:
                    "break the lease with `pbideploy state unlock ANY --force` if nothing uses it"
                        .into(),
                id: String::new(),
            },
            Err(e) => e,
        }
    }

    fn acquire(&self, info: &LockInfo) -> Result<Reply, LedgerError> {
        self.send(Call {
            method: Method::PUT,
            query: vec![("comp", "lease".into())],
            headers: vec![
                ("x-ms-lease-action", "acquire".into()),
                ("x-ms-lease-duration", self.lease_secs.to_string()),
                ("x-ms-proposed-lease-id", info.id.clone()),
            ],
            // Acquiring again with the same proposed id succeeds: safe to repeat.
            idempotent: true,
            ..Call::default()
        })
    }

    /// An empty placeholder blob, so that there is something to lease before the first
    /// ledger is written; an empty blob reads as "no ledger yet".
    fn create_placeholder(&self) -> Result<(), LedgerError> {
        let reply = self.send(Call {
            method: Method::PUT,
            headers: vec![
                ("x-ms-blob-type", "BlockBlob".into()),
                ("if-none-match", "*".into()),
            ],
            ..Call::default()
        })?;
        // 409/412: another run created it first, which is as good.
        match reply.status.as_u16() {
            200..=299 | 409 | 412 => Ok(()),
            _ => Err(self.remote(reply.error("creating the ledger blob"))),
        }
    }

    /// Keeps the ledger as it was before this run's first write.
    fn snapshot(&self, lease: &Lease, etag: &str) -> Result<(), LedgerError> {
        let reply = self.send(Call {
            method: Method::PUT,
            query: vec![("comp", "snapshot".into())],
            headers: vec![
                ("x-ms-lease-id", lease.id().into()),
                ("if-match", etag.into()),
            ],
            ..Call::default()
        })?;
        self.check_write(&reply, lease, "keeping the previous ledger as a snapshot")?;
        // Best effort: a snapshot left over is harmless, and this run's write comes first.
        if let Err(e) = self.prune() {
            tracing::warn!("could not delete old ledger snapshots: {e}");
        }
        Ok(())
    }

    /// Deletes the oldest snapshots beyond `keep`.
    fn prune(&self) -> Result<(), LedgerError> {
        let snapshots: Vec<_> = self
            .history()?
            .into_iter()
            .filter(|v| v.id != "current")
            .collect();
        for old in snapshots
            .iter()
            .take(snapshots.len().saturating_sub(self.keep))
        {
            let reply = self.send(Call {
                method: Method::DELETE,
                query: vec![("snapshot", old.id.clone())],
                idempotent: true,
                ..Call::default()
            })?;
            if !reply.status.is_success() && reply.status.as_u16() != 404 {
                return Err(self.remote(reply.error("deleting an old snapshot")));
            }
        }
        Ok(())
    }

    fn check_write(&self, reply: &Reply, lease: &Lease, what: &str) -> Result<(), LedgerError> {
        if reply.status.is_success() {
            return Ok(());
        }
        match reply.code() {
            // The service checks the ETag before the lease: tell a lost lease (another run
            // took the lock, which rewrites the metadata) from a plain conflict.
            "ConditionNotMet" => match self.holder() {
                Ok((true, Some(info))) if info.id != lease.id() => {
                    Err(lease.lost(format!("the lock is now held by {}", info.describe())))
                }
                Ok((false, _)) => Err(lease.lost("the lease is no longer held".into())),
                _ => Err(LedgerError::Conflict {
                    ledger: self.describe(),
                }),
            },
            code if code.starts_with("Lease") => Err(lease.lost(reply.error(what))),
            _ => Err(self.remote(reply.error(what))),
        }
    }

    fn get(&self, snapshot: Option<&str>) -> Result<Reply, LedgerError> {
        self.send(Call {
            method: Method::GET,
            query: snapshot
                .map(|s| vec![("snapshot", s.to_owned())])
                .unwrap_or_default(),
            idempotent: true,
            max_body: MAX_LEDGER_BYTES,
            ..Call::default()
        })
    }

    fn parse(&self, body: &[u8]) -> Result<Option<Ledger>, LedgerError> {
        if body.is_empty() {
            return Ok(None);
        }
        let text = std::str::from_utf8(body).map_err(|_| LedgerError::Corrupt {
            path: self.describe(),
            reason: "it is not UTF-8 text".into(),
        })?;
        Ledger::from_json(&self.describe(), text).map(Some)
    }
}

impl LedgerStore for AzBlobStore {
    fn describe(&self) -> String {
        self.client.location.describe()
    }

    fn load(&self) -> Result<Option<Ledger>, LedgerError> {
        let reply = self.get(None)?;
        if reply.status.as_u16() == 404 && reply.code() == "BlobNotFound" {
            *self.etag.lock().unwrap_or_else(PoisonError::into_inner) = None;
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(self.remote(reply.error("reading the ledger")));
        }
        let ledger = self.parse(&reply.body)?;
        self.set_etag(&reply);
        self.snapshot_due.store(ledger.is_some(), Ordering::SeqCst);
        Ok(ledger)
    }

    /// Two requests: acquire the lease, then write who holds it.
    fn lock(&self) -> Result<LedgerLock, LedgerError> {
        let info = LockInfo::current()?;
        let mut reply = self.acquire(&info)?;
        if reply.status.as_u16() == 404 && reply.code() == "BlobNotFound" {
            self.create_placeholder()?;
            reply = self.acquire(&info)?;
        }
        if reply.code() == "LeaseAlreadyPresent" {
            return Err(self.held_error());
        }
        if !reply.status.is_success() {
            return Err(self.remote(reply.error("acquiring the lease")));
        }
        let lease = Lease::start(
            self.client.clone(),
            info.clone(),
            self.lease_secs,
            self.describe(),
        );
        let meta = STANDARD.encode(info.to_json());
        let reply = self.send(Call {
            method: Method::PUT,
            query: vec![("comp", "metadata".into())],
            headers: vec![("x-ms-lease-id", info.id.clone()), (LOCK_META, meta)],
            ..Call::default()
        })?;
        self.check_write(&reply, &lease, "writing the lock holder")?;
        self.set_etag(&reply);
        Ok(LedgerLock::new(lease))
    }

    fn save(&self, ledger: &Ledger, lock: &LedgerLock) -> Result<(), LedgerError> {
        let lease = lock.held::<Lease>().ok_or_else(|| {
            LedgerError::Config("the ledger lock does not belong to this Azure Blob ledger".into())
        })?;
        lease.check()?;
        let etag = self.etag().ok_or_else(|| LedgerError::Conflict {
            ledger: self.describe(),
        })?;
        if self.snapshot_due.swap(false, Ordering::SeqCst) {
            self.snapshot(lease, &etag)?;
        }
        let reply = self.send(Call {
            method: Method::PUT,
            headers: vec![
                ("x-ms-blob-type", "BlockBlob".into()),
                ("content-type", "application/json".into()),
                ("if-match", etag),
                ("x-ms-lease-id", lease.id().into()),
                (LOCK_META, STANDARD.encode(lease.info_json())),
            ],
            body: format!("{}\n", ledger.to_json()).into_bytes(),
            ..Call::default()
        })?;
        self.check_write(&reply, lease, "writing the ledger")?;
        self.set_etag(&reply);
        Ok(())
    }

    fn unlock(&self, lock_id: &str, force: bool) -> Result<String, LedgerError> {
        let (leased, info) = self.holder()?;
        if !leased {
            return Ok(format!("The ledger {} is not locked.", self.describe()));
        }
        let holder = info
            .as_ref()
            .map_or_else(|| "an unknown holder".to_owned(), LockInfo::describe);
        if let Some(info) = &info
            && info.id != lock_id
        {
            return Err(LedgerError::Config(format!(
                "the ledger {} is locked by {holder}, whose lock id is not {lock_id}; nothing was unlocked",
                self.describe()
            )));
        }
        let headers = if force {
            vec![
                ("x-ms-lease-action", "break".into()),
                ("x-ms-lease-break-period", "0".into()),
            ]
        } else {
            vec![
                ("x-ms-lease-action", "release".into()),
                ("x-ms-lease-id", lock_id.into()),
            ]
        };
        let reply = self.send(Call {
            method: Method::PUT,
            query: vec![("comp", "lease".into())],
            headers,
            ..Call::default()
        })?;
        if !reply.status.is_success() {
            let mut msg = reply.error("unlocking");
            if !force {
                msg.push_str("; if the lease id is unknown, break it with --force");
            }
            return Err(self.remote(msg));
        }
        let done = if force { "Broke" } else { "Released" };
        Ok(format!(
            "{done} the lock on {} held by {holder}.",
            self.describe()
        ))
    }

    fn history(&self) -> Result<Vec<LedgerVersion>, LedgerError> {
        let blob = self.client.location.blob.clone();
        let mut versions = Vec::new();
        let mut marker = String::new();
        // Bounded: 20 pages of up to 5000 entries.
        for _ in 0..20 {
            let mut query = vec![
                ("restype", "container".to_owned()),
                ("comp", "list".into()),
                ("prefix", blob.clone()),
                ("include", "snapshots".into()),
            ];
            if !marker.is_empty() {
                query.push(("marker", marker.clone()));
            }
            let reply = self.send(Call {
                method: Method::GET,
                container: true,
                query,
                idempotent: true,
                max_body: 16 << 20,
                ..Call::default()
            })?;
            if !reply.status.is_success() {
                return Err(self.remote(reply.error("listing the ledger's versions")));
            }
            let text = String::from_utf8_lossy(&reply.body);
            versions.extend(xml::versions(&text, &blob));
            marker = xml::next_marker(&text);
            if marker.is_empty() {
                break;
            }
        }
        Ok(versions)
    }

    fn load_version(&self, id: &str) -> Result<Ledger, LedgerError> {
        if id == "current" {
            return self.load()?.ok_or_else(|| {
                LedgerError::Config(format!("the ledger {} is empty", self.describe()))
            });
        }
        let reply = self.get(Some(id))?;
        if !reply.status.is_success() {
            let mut msg = reply.error(&format!("reading the version {id}"));
            msg.push_str("; run `pbideploy state history` for the versions kept");
            return Err(self.remote(msg));
        }
        self.parse(&reply.body)?
            .ok_or_else(|| LedgerError::NotFound {
                address: format!("(the version {id} is empty)"),
            })
    }
}
