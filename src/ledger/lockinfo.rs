//! Who holds a ledger lock: written with the lock (into the lock file, or as blob metadata
//! with the lease) so that a second run can say who blocks it and how to break the lock.

use serde::{Deserialize, Serialize};

use super::LedgerError;

/// The holder of a ledger lock. Holds no secret: host, user and command name only (never the
/// command's arguments, which may carry `--var` values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock id `pbideploy state unlock` takes (a lease id for Azure Blob).
    pub id: String,
    pub host: String,
    pub user: String,
    /// The subcommand, e.g. `apply` or `state rm`.
    pub command: String,
    /// When the lock was taken (HTTP date, UTC).
    pub since: String,
}

/// Lock metadata larger than this is not ours (ours is a few hundred bytes).
pub const MAX_LOCK_INFO_BYTES: usize = 4096;

impl LockInfo {
    /// This process as a lock holder, with a fresh random lock id (a UUID, as Azure expects
    /// for a proposed lease id).
    pub fn current() -> Result<Self, LedgerError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| LedgerError::Random(e.to_string()))?;
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let h = hex::encode(bytes);
        let id = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        Ok(Self {
            id,
            host: host_name(),
            user: env_first(&["USER", "USERNAME", "LOGNAME"]).unwrap_or_else(|| "unknown".into()),
            command: command_name(std::env::args().skip(1)),
            since: httpdate::fmt_http_date(std::time::SystemTime::now()),
        })
    }

    /// `user@host running `pbideploy apply` since DATE (lock id ID)`.
    pub fn describe(&self) -> String {
        format!(
            "{}@{} running `pbideploy {}` since {} (lock id {})",
            self.user, self.host, self.command, self.since, self.id
        )
    }

    /// The JSON written with the lock.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads lock metadata written by [`Self::to_json`]; `None` for anything else (a lock
    /// file from an older pbideploy is empty).
    pub fn from_json(text: &[u8]) -> Option<Self> {
        if text.len() > MAX_LOCK_INFO_BYTES {
            return None;
        }
        serde_json::from_slice(text).ok()
    }
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

fn host_name() -> String {
    if let Some(h) = env_first(&["HOSTNAME", "COMPUTERNAME"]) {
        return h;
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.len() < 256)
        .unwrap_or_else(|| "unknown".into())
}

/// The subcommand words (`apply`, `state rm`), without options or their values.
fn command_name(args: impl Iterator<Item = String>) -> String {
    let words: Vec<String> = args
        .take_while(|a| !a.starts_with('-'))
        .take(2)
        .filter(|a| a.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect();
    if words.is_empty() {
        "(unknown)".into()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_name_keeps_subcommand_words_only() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(command_name(args(&["apply", "--var", "x=secret"])), "apply");
        assert_eq!(command_name(args(&["state", "rm", "addr"])), "state rm");
        assert_eq!(command_name(args(&["plan.json"])), "(unknown)");
    }

    #[test]
    fn ids_are_uuids_and_json_round_trips() {
        let info = LockInfo::current().unwrap();
        assert_eq!(info.id.len(), 36);
        assert_eq!(info.id.as_bytes()[14], b'4');
        assert_eq!(LockInfo::from_json(info.to_json().as_bytes()), Some(info));
        assert_eq!(LockInfo::from_json(b""), None);
    }
}
