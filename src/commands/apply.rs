//! `pbideploy apply`: plan (or read a saved plan and check it is not stale), show it, ask
//! for confirmation, resolve secrets before anything changes, then execute the plan with
//! ledger checkpoints.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use crate::apply::checkpoint::Checkpoint;
use crate::apply::output::Output;
use crate::apply::{ApplyOptions, execute, secrets};
use crate::cli::ApplyArgs;
use crate::error::{CommandError, CommandResult, ErrorKind};
use crate::plan::PlanOptions;
use crate::plan::definitions::Definitions;
use crate::plan::file::read_plan;
use crate::plan::model::{FileFingerprint, Operation, Plan};
use crate::session;

use crate::ledger::Ledger;
use crate::ledger::backend::{DynStore, lock_waiting};
use crate::ledger::store::LedgerLock;

use super::plan::{Planned, ledger_store, plan_against};
use super::shared::{load_manifest, parse_targets, runtime};

pub fn run(args: &ApplyArgs) -> CommandResult {
    let loaded = load_manifest(&args.manifest)?;
    let saved = match &args.plan_file {
        Some(path) => Some(read_plan(path)?),
        None => None,
    };
    let targets = parse_targets(&args.targets)?;
    // Lock before the ledger is read and the plan made, and hold the lock to the end: a run
    // that finished between our reading and our locking would otherwise go unnoticed, and
    // this one would execute a plan made from a ledger that no longer exists.
    let store = ledger_store(&loaded, &args.service)?;
    let wait = std::time::Duration::from_secs(args.lock_timeout);
    let lock = lock_waiting(&*store, wait).map_err(|e| CommandError::user(e.to_string()))?;
    let ledger = store.load_or_new()?;
    let locked = Locked {
        store,
        lock,
        ledger,
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let session = session::connect(&loaded, &args.service.connect.target()).await?;
        let result = apply_with(args, &loaded, &session, saved, targets, locked).await;
        session.close().await;
        result
    })
}

/// The ledger as read under the lock this run holds until it ends.
struct Locked {
    store: DynStore,
    lock: LedgerLock,
    ledger: Ledger,
}

async fn apply_with(
    args: &ApplyArgs,
    loaded: &crate::manifest::LoadedManifest,
    session: &session::Session,
    saved: Option<Plan>,
    targets: Vec<crate::domain::address::Address>,
    locked: Locked,
) -> CommandResult {
    let options = PlanOptions {
        targets,
        ..PlanOptions::default()
    };
    let Planned {
        plan: fresh,
        ledger_store,
        ledger,
        live,
        definitions,
        ..
    } = plan_against(loaded, session, locked.store, locked.ledger, options).await?;
    let plan = match saved {
        Some(saved) => {
            check_not_stale(&saved, &fresh, &definitions)?;
            saved
        }
        None => fresh,
    };
    let out = Output::stdout(args.json_events());
    if !plan.has_changes() {
        out.message("No changes. The service matches the manifest.");
        return Ok(0);
    }
    if !args.json_events() {
        let color =
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
        let mut stdout = anstream::stdout();
        let _ = write!(stdout, "{}", crate::plan::render::render_text(&plan, color));
    }
    if args.plan_file.is_none() && !args.auto_approve {
        confirm()?;
    }
    let base_dir = loaded.root.clone();
    let secrets = secrets::resolve(&plan, &base_dir, &crate::env_vars::ProcessEnv)?;
    mask_secrets(&secrets)?;
    let checkpoint = Checkpoint::locked(ledger_store, locked.lock, ledger);
    let parallelism = usize::from(args.parallelism);
    let options = ApplyOptions {
        parallelism,
        wait_refresh: args.wait_refresh,
        base_dir,
        known: Some(Arc::new(live)),
        definitions: Some(Arc::new(definitions)),
        ..ApplyOptions::default()
    };
    let summary = execute(
        &plan,
        session.client.with_max_in_flight(apply_window(parallelism)),
        secrets,
        Arc::new(checkpoint),
        out.clone(),
        options,
    )
    .await?;
    if summary.is_success() {
        Ok(0)
    } else {
        Err(CommandError::reported(ErrorKind::PartialApply))
    }
}

/// Under GitHub Actions, the secrets' `::add-mask::` lines, before any step runs. Plain
/// `std::io::stdout` (not `anstream`, which would strip escape sequences from a secret and
/// so register the wrong mask). A closed stdout goes on quietly, as every apply line does:
/// nobody reads what follows either. Any other failure stops before anything changes, as the
/// runner could not know what to hide.
fn mask_secrets(secrets: &secrets::Secrets) -> Result<(), CommandError> {
    let mut stdout = std::io::stdout().lock();
    match secrets::write_masks(secrets, &crate::env_vars::ProcessEnv, &mut stdout) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CommandError::write_failed(
            "the GitHub Actions `::add-mask::` commands",
            e,
        )),
        _ => Ok(()),
    }
}

/// Requests in flight during apply: the steps' own plus as many for waits polling the service.
fn apply_window(parallelism: usize) -> usize {
    2 * parallelism.max(1)
}

/// A saved plan is applied only if nothing it was made from has moved since.
fn check_not_stale(
    saved: &Plan,
    fresh: &Plan,
    definitions: &Definitions,
) -> Result<(), CommandError> {
    let mut moved = Vec::new();
    if saved.manifest.sha256 != fresh.manifest.sha256 {
        moved.push("the manifest changed".to_string());
    }
    moved.extend(pbix_moves(&saved.pbix, &fresh.pbix));
    for change in &saved.changes {
        if let Operation::Definition(spec) = &change.operation {
            let now = definitions.items.get(&change.address).map(|d| d.sha256());
            if now.as_deref() != Some(spec.sha256.as_str()) {
                moved.push(format!("the project {} changed", spec.project_path));
            }
        }
    }
    if saved.live_fingerprint != fresh.live_fingerprint {
        moved.push("the live service state changed".to_string());
    }
    if saved.ledger_fingerprint.is_some() && saved.ledger_fingerprint != fresh.ledger_fingerprint {
        moved.push("the ledger changed (a run applied since, maybe this plan)".to_string());
    }
    if moved.is_empty() {
        return Ok(());
    }
    Err(CommandError::user(format!(
        "the saved plan is stale: {} since it was made",
        moved.join(", ")
    ))
    .hinted("run `pbideploy plan --out FILE` again, review it, and apply the new file"))
}

/// How the PBIX files to import differ between the saved and the fresh plan, file by file:
/// a file whose content changed, one that now needs an import, one that no longer does (it
/// was imported since, or changed back to what is deployed).
fn pbix_moves(saved: &[FileFingerprint], fresh: &[FileFingerprint]) -> Vec<String> {
    let mut moves = Vec::new();
    for f in fresh {
        match saved.iter().find(|s| s.path == f.path) {
            Some(s) if s.sha256 != f.sha256 => moves.push(format!("{} changed", f.path)),
            Some(_) => {}
            None => moves.push(format!("{} now needs an import", f.path)),
        }
    }
    for s in saved {
        if !fresh.iter().any(|f| f.path == s.path) {
            moves.push(format!("{} no longer needs an import", s.path));
        }
    }
    moves
}

fn confirm() -> Result<(), CommandError> {
    if !std::io::stdin().is_terminal() {
        return Err(
            CommandError::user("apply needs confirmation, and stdin is not a terminal").hinted(
                "review the plan, then run again with --auto-approve (or apply a saved plan file)",
            ),
        );
    }
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "\nApply these changes? Only 'yes' will be accepted: "
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CommandError::user(format!("cannot read the answer: {e}")))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CommandError::user("apply cancelled: nothing was changed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, sha256: &str) -> FileFingerprint {
        FileFingerprint {
            path: path.into(),
            sha256: sha256.into(),
        }
    }

    #[test]
    fn pbix_moves_name_each_file_and_what_happened_to_it() {
        let saved = [file("a.pbix", "1"), file("b.pbix", "2")];
        let fresh = [file("a.pbix", "9"), file("c.pbix", "3")];
        assert_eq!(
            pbix_moves(&saved, &fresh),
            [
                "a.pbix changed",
                "c.pbix now needs an import",
                "b.pbix no longer needs an import"
            ]
        );
        assert!(pbix_moves(&saved, &saved).is_empty());
        // Applied already: nothing left to import is not "a file changed".
        assert_eq!(
            pbix_moves(&saved[..1], &[]),
            ["a.pbix no longer needs an import"]
        );
    }
}
