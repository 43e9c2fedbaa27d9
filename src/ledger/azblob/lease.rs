//! A held blob lease: renewed in the background at a third of its duration while the run
//! holds it, released (one request) when dropped. A renewal the service refuses, or none
//! succeeding before the lease would expire, marks it lost: [`HeldLock::check`] then fails
//! and nothing more is written.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::Method;

use super::rest::{BlobClient, Call};
use crate::ledger::LedgerError;
use crate::ledger::lockinfo::LockInfo;
use crate::ledger::store::HeldLock;

/// Why the lease was lost, once it was.
type Lost = Arc<Mutex<Option<String>>>;

pub struct Lease {
    client: Arc<BlobClient>,
    info: LockInfo,
    ledger: String,
    lost: Lost,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
}

impl Lease {
    /// Starts renewing the lease `info.id` (acquired for `secs` seconds).
    pub fn start(client: Arc<BlobClient>, info: LockInfo, secs: u32, ledger: String) -> Self {
        let lost: Lost = Arc::default();
        let (stop, stopped) = mpsc::channel();
        let renewer = {
            let (client, id, lost) = (client.clone(), info.id.clone(), lost.clone());
            std::thread::Builder::new()
                .name("pbideploy-lease".into())
                .spawn(move || {
                    renew(
                        &client,
                        &id,
                        Duration::from_secs(secs.into()),
                        &stopped,
                        &lost,
                    )
                })
                .ok()
        };
        if renewer.is_none() {
            *lost.lock().unwrap_or_else(PoisonError::into_inner) =
                Some("the lease renewal thread could not start".into());
        }
        Self {
            client,
            info,
            ledger,
            lost,
            stop: Some(stop),
            renewer,
        }
    }

    /// The lease id (the lock id).
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// The holder's metadata, written again with every ledger write (a Put Blob replaces the
    /// blob's metadata).
    pub fn info_json(&self) -> String {
        self.info.to_json()
    }

    /// Marks the lease lost for `reason` and returns the error to report.
    pub fn lost(&self, reason: String) -> LedgerError {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        lost.get_or_insert(reason.clone());
        LedgerError::LockLost {
            ledger: self.ledger.clone(),
            reason,
        }
    }
}

impl HeldLock for Lease {
    fn check(&self) -> Result<(), LedgerError> {
        match &*self.lost.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(reason) => Err(LedgerError::LockLost {
                ledger: self.ledger.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        if self.check().is_err() {
            return;
        }
        // Best effort: a lease not released expires by itself.
        let _ = self.client.send(Call {
            method: Method::PUT,
            query: vec![("comp", "lease".into())],
            headers: vec![
                ("x-ms-lease-action", "release".into()),
                ("x-ms-lease-id", self.info.id.clone()),
            ],
            idempotent: true,
            ..Call::default()
        });
    }
}

fn renew(
    client: &Arc<BlobClient>,
    id: &str,
    duration: Duration,
    stopped: &mpsc::Receiver<()>,
    lost: &Lost,
) {
    let every = duration / 3;
    let mut renewed = Instant::now();
    let mut wait = every;
    loop {
        match stopped.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let reply = client.send(Call {
            method: Method::PUT,
            query: vec![("comp", "lease".into())],
            headers: vec![
                ("x-ms-lease-action", "renew".into()),
                ("x-ms-lease-id", id.to_owned()),
            ],
            idempotent: true,
            ..Call::default()
        });
        let (reason, refused) = match reply {
            Ok(r) if r.status.is_success() => {
                renewed = Instant::now();
                wait = every;
                continue;
            }
            // The service refused (the lease was broken or taken): no point retrying.
            Ok(r) => (r.error("renewing the lease"), r.status.is_client_error()),
            Err(e) => (format!("renewing the lease failed: {e}"), false),
        };
        if refused || renewed.elapsed() + every / 2 >= duration {
            *lost.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
            return;
        }
        wait = every / 4;
    }
}
