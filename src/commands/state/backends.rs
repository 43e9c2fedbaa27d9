//! `state history`, `state unlock` and `state migrate`: the commands that exist because a
//! ledger may live in a shared backend (Azure Blob Storage) with versions and a lease lock.

use crate::cli::StateArgs;
use crate::error::{CommandError, CommandResult};
use crate::ledger::backend::{self, StateSpec};

use super::{ledger_error, lock, missing, out, store};

/// Lists the versions the backend keeps, oldest first.
pub fn history(args: &StateArgs) -> CommandResult {
    let store = store(args)?;
    let versions = store.history().map_err(ledger_error)?;
    if versions.is_empty() {
        return out(&format!(
            "The ledger {} has no versions yet.",
            store.describe()
        ));
    }
    let mut lines = vec![format!("Versions of {} (oldest first):", store.describe())];
    lines.extend(
        versions
            .iter()
            .map(|v| format!("  {}  written {}  {} bytes", v.id, v.written, v.bytes)),
    );
    lines.push("Show one with `pbideploy state show --version ID ADDRESS`.".into());
    out(&lines.join("\n"))
}

/// Releases (or with `force` breaks) the lock `lock_id`.
pub fn unlock(args: &StateArgs, lock_id: &str, force: bool) -> CommandResult {
    let store = store(args)?;
    let done = store.unlock(lock_id, force).map_err(ledger_error)?;
    out(&done)
}

/// Copies the ledger to `to`, holding both locks; refuses to overwrite a different ledger.
pub fn migrate(args: &StateArgs, to: &str, to_credential: Option<&str>) -> CommandResult {
    let from = store(args)?;
    let credential = match to_credential {
        Some(text) => Some(backend::parse_reference(text).map_err(CommandError::user)?),
        None => None,
    };
    let spec = StateSpec {
        url: Some(to.to_owned()),
        credential,
        lease_secs: None,
    };
    let dest = backend::open(&spec, &args.manifest.file, args.manifest.env.as_deref())
        .map_err(ledger_error)?;
    if dest.describe() == from.describe() {
        return Err(CommandError::user(format!(
            "the source and the destination are the same ledger ({})",
            from.describe()
        )));
    }
    let _from_lock = lock(&*from, args)?;
    let dest_lock = lock(&*dest, args)?;
    let ledger = from
        .load()
        .map_err(ledger_error)?
        .ok_or_else(|| missing(&*from))?;
    match dest.load().map_err(ledger_error)? {
        Some(existing) if existing == ledger => {
            return out(&format!(
                "{} already holds this ledger; nothing copied.",
                dest.describe()
            ));
        }
        Some(_) => {
            return Err(CommandError::user(format!(
                "{} already holds a different ledger; nothing was copied",
                dest.describe()
            ))
            .hinted(
                "choose another destination, or remove that ledger first if it is not needed",
            ));
        }
        None => {}
    }
    dest.save(&ledger, &dest_lock).map_err(ledger_error)?;
    out(&format!(
        "Copied the ledger ({} entries) from {} to {}.\nPoint `state.url` in the manifest (or --state) at the new location; the old ledger is left as it was.",
        ledger.entries.len(),
        from.describe(),
        dest.describe()
    ))
}
