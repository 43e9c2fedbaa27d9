//! `pbideploy state list|show|rm|adopt`: inspect or edit the ledger; only `adopt` reads the
//! service (GET only) to record items that already exist there.

mod adopt;

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{ConnectArgs, StateArgs, StateCommand};
use crate::domain::address::Address;
use crate::error::{CommandError, CommandResult};
use crate::ledger::store::{FileStore, LedgerStore, default_path};
use crate::ledger::{Ledger, LedgerError};
use crate::live::read::read_live;
use crate::plan::build;
use crate::session;

/// Runs a `state` subcommand.
pub fn run(cmd: &StateCommand) -> CommandResult {
    match cmd {
        StateCommand::List(args) => list(args),
        StateCommand::Show { state, address } => show(state, address),
        StateCommand::Rm { state, address } => rm(state, address),
        StateCommand::Adopt {
            state,
            service,
            addresses,
        } => run_adopt(state, service, addresses),
    }
}

fn store(args: &StateArgs) -> FileStore {
    let path: PathBuf = match &args.state {
        Some(p) => p.clone(),
        None => default_path(&args.manifest.file, args.manifest.env.as_deref()),
    };
    FileStore::new(path)
}

fn parse_address(text: &str) -> Result<Address, CommandError> {
    Ok(text.parse::<Address>()?)
}

fn out(text: &str) -> CommandResult {
    let mut stdout = anstream::stdout();
    writeln!(stdout, "{text}").map_err(CommandError::stdout)?;
    Ok(0)
}

fn missing(store: &FileStore) -> CommandError {
    CommandError::user(format!("no ledger at {}", store.describe())).hinted(
        "run `pbideploy apply` first, or pass --state PATH (and -f/--env to pick the default path)",
    )
}

fn list(args: &StateArgs) -> CommandResult {
    let store = store(args);
    let ledger = store.load()?.ok_or_else(|| missing(&store))?;
    let lines: Vec<String> = ledger.entries.keys().map(ToString::to_string).collect();
    if lines.is_empty() {
        return out(&format!("The ledger {} tracks nothing.", store.describe()));
    }
    out(&lines.join("\n"))
}

fn show(args: &StateArgs, address: &str) -> CommandResult {
    let address = parse_address(address)?;
    let store = store(args);
    let ledger = store.load()?.ok_or_else(|| missing(&store))?;
    let entry = ledger.get(&address).ok_or_else(|| LedgerError::NotFound {
        address: address.to_string(),
    })?;
    let json = serde_json::to_string_pretty(entry)
        .map_err(|e| CommandError::internal(format!("cannot render the entry: {e}")))?;
    out(&format!("# {address}\n{json}"))
}

fn rm(args: &StateArgs, address: &str) -> CommandResult {
    let address = parse_address(address)?;
    let store = store(args);
    let lock = store.lock()?;
    let mut ledger = store.load()?.ok_or_else(|| missing(&store))?;
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
    let store = store(args);
    let lock = store.lock()?;
    let mut ledger = match store.load()? {
        Some(l) => l,
        None => Ledger::new()?,
    };
    let desired = build::desired_state(&loaded, &ledger.salt, &crate::env_vars::ProcessEnv)?;
    let live = runtime()?.block_on(async {
        let session = session::connect(&loaded, &connect.target()).await?;
        let live = read_live(&session.client, &desired, session.principal.clone()).await;
        session.close().await;
        Ok::<_, CommandError>(live?)
    })?;
    let adoption = adopt::adopt(&desired, &live, &ledger, &selected, &now_rfc3339()).map_err(|r| {
        let mut err = CommandError::user(format!(
            "nothing adopted; {} problem(s):\n  - {}",
            r.problems.len(),
            r.problems.join("\n  - ")
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
