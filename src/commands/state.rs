//! `pbideploy state list|show|rm|adopt|history|unlock|migrate`: inspect or edit the ledger;
//! only `adopt` reads the service (GET only) to record items that already exist there.

mod backends;

use std::io::Write;
use std::time::Duration;

use crate::cli::{ConnectArgs, StateArgs, StateCommand};
use crate::domain::address::Address;
use crate::error::{CommandError, CommandResult};
use crate::init::adopt;
use crate::ledger::LedgerError;
use crate::ledger::backend::{self, DynStore, StateSpec};
use crate::ledger::store::{LedgerLock, LedgerStore};
use crate::live::read::read_live;
use crate::plan::build;
use crate::session;

/// Runs a `state` subcommand.
pub fn run(cmd: &StateCommand) -> CommandResult {
    match cmd {
        StateCommand::List(args) => list(args),
        StateCommand::Show {
            state,
            address,
            version,
        } => show(state, address, version.as_deref()),
        StateCommand::History(args) => backends::history(args),
        StateCommand::Unlock {
            state,
            lock_id,
            force,
        } => backends::unlock(state, lock_id, *force),
        StateCommand::Migrate {
            state,
            to,
            to_credential,
        } => backends::migrate(state, to, to_credential.as_deref()),
        StateCommand::Rm { state, address } => rm(state, address),
        StateCommand::Adopt {
            state,
            service,
            addresses,
        } => run_adopt(state, service, addresses),
    }
}

/// The ledger store: `--state-file`/`--state`, else the manifest's `state:` block when the
/// manifest exists (it is loaded for that), else the default file beside the manifest.
fn store(args: &StateArgs) -> Result<DynStore, CommandError> {
    let credential = args.state_credential.as_deref();
    if args.state.is_none() && args.manifest.file.exists() {
        let loaded = super::shared::load_manifest(&args.manifest)?;
        return Ok(backend::open_for_manifest(&loaded, None, credential)?);
    }
    let spec = StateSpec::resolve(None, args.state.as_deref(), credential)?;
    Ok(backend::open(
        &spec,
        &args.manifest.file,
        args.manifest.env.as_deref(),
    )?)
}

/// Takes the lock as `--lock-timeout` allows.
fn lock(store: &dyn LedgerStore, args: &StateArgs) -> Result<LedgerLock, CommandError> {
    backend::lock_waiting(store, Duration::from_secs(args.lock_timeout)).map_err(CommandError::from)
}

fn parse_address(text: &str) -> Result<Address, CommandError> {
    Ok(text.parse::<Address>()?)
}

fn out(text: &str) -> CommandResult {
    let mut stdout = anstream::stdout();
    writeln!(stdout, "{text}").map_err(CommandError::stdout)?;
    Ok(0)
}

fn missing(store: &dyn LedgerStore) -> CommandError {
    CommandError::user(format!("no ledger at {}", store.describe())).hinted(
        "run `pbideploy apply` first, or pass --state PATH (and -f/--env to pick the default path)",
    )
}

fn list(args: &StateArgs) -> CommandResult {
    let store = store(args)?;
    let ledger = store.load()?.ok_or_else(|| missing(&*store))?;
    let lines: Vec<String> = ledger.entries.keys().map(ToString::to_string).collect();
    if lines.is_empty() {
        return out(&format!("The ledger {} tracks nothing.", store.describe()));
    }
    out(&lines.join("\n"))
}

fn show(args: &StateArgs, address: &str, version: Option<&str>) -> CommandResult {
    let address = parse_address(address)?;
    let store = store(args)?;
    let ledger = match version {
        Some(v) => store.load_version(v)?,
        None => store.load()?.ok_or_else(|| missing(&*store))?,
    };
    let entry = ledger.get(&address).ok_or_else(|| LedgerError::NotFound {
        address: address.to_string(),
    })?;
    let json = serde_json::to_string_pretty(entry)
        .map_err(|e| CommandError::internal(format!("cannot render the entry: {e}")))?;
    out(&format!("# {address}\n{json}"))
}

fn rm(args: &StateArgs, address: &str) -> CommandResult {
    let address = parse_address(address)?;
    let store = store(args)?;
    let lock = lock(&*store, args)?;
    let mut ledger = store.load()?.ok_or_else(|| missing(&*store))?;
    let removed = ledger.remove(&address)?;
    store.save(&ledger, &lock)?;
    let lines: Vec<String> = removed.iter().map(|a| format!("Removed {a}")).collect();
    out(&lines.join("\n"))
}

/// `state adopt`: read the service for the manifest's items, decide what to record
/// ([`adopt::adopt`]) and save the ledger once, under its lock; nothing is written when any
/// selected item is missing from the service.
fn run_adopt(args: &StateArgs, connect: &ConnectArgs, addresses: &[String]) -> CommandResult {
    use super::shared::{load_manifest, now_rfc3339, parse_targets, runtime};
    let loaded = load_manifest(&args.manifest)?;
    let selected = parse_targets(addresses)?;
    let store = backend::open_for_manifest(
        &loaded,
        args.state.as_deref(),
        args.state_credential.as_deref(),
    )?;
    let lock = lock(&*store, args)?;
    let mut ledger = store.load_or_new()?;
    let desired = build::desired_state(&loaded, &ledger.salt, &crate::env_vars::ProcessEnv)?;
    let live = runtime()?.block_on(async {
        let session = session::connect(&loaded, &connect.target()).await?;
        let live = read_live(&session.client, &desired, session.principal.clone()).await;
        session.close().await;
        Ok::<_, CommandError>(live?)
    })?;
    let adoption = adopt::adopt(&desired, &live, &ledger, &selected, &now_rfc3339()).map_err(|r| {
        let mut err = CommandError::user(format!(
            "nothing adopted; {} problem(s): {}",
            r.problems.len(),
            r.problems.join("; ")
        ));
        err = err.hinted("adopt writes nothing unless every selected item exists; pass the addresses of the items that do");
        err
    })?;
    for (addr, entry) in adoption.entries {
        ledger.set(addr, entry);
    }
    store.save(&ledger, &lock)?;
    let mut lines = adoption.adopted;
    lines.push(format!("Saved the ledger {}.", store.describe()));
    if !adoption.left.is_empty() {
        lines.push("Left for plan to compare:".into());
        lines.extend(adoption.left.iter().map(|l| format!("  - {l}")));
    }
    lines.push(
        "Adopt trusts that the service holds what these PBIX files and secrets contain; run `pbideploy plan` to see what still differs.".into(),
    );
    out(&lines.join("\n"))
}
