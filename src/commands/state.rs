//! `pbideploy state list|show|rm`: inspect or edit the ledger without touching the service.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{StateArgs, StateCommand};
use crate::error::{CommandError, CommandResult};
use crate::ledger::LedgerError;
use crate::ledger::store::{FileStore, LedgerStore, default_path};
use crate::plan::address::Address;

/// Runs a `state` subcommand.
pub fn run(cmd: &StateCommand) -> CommandResult {
    match cmd {
        StateCommand::List(args) => list(args),
        StateCommand::Show { state, address } => show(state, address),
        StateCommand::Rm { state, address } => rm(state, address),
        StateCommand::Adopt { .. } => Err(CommandError::internal(
            "`pbideploy state adopt` is not built yet in this version",
        )),
    }
}

fn store(args: &StateArgs) -> FileStore {
    let path: PathBuf = match &args.state {
        Some(p) => p.clone(),
        None => default_path(&args.manifest.file, args.manifest.env.as_deref()),
    };
    FileStore::new(path)
}

fn ledger_error(err: LedgerError) -> CommandError {
    match err {
        LedgerError::NotFound { .. } => CommandError::user(err.to_string()),
        LedgerError::Random(_) => CommandError::internal(err.to_string()),
        _ => CommandError::user(err.to_string()),
    }
}

fn parse_address(text: &str) -> Result<Address, CommandError> {
    text.parse::<Address>()
        .map_err(|e| CommandError::user(e.to_string()))
}

fn out(text: &str) -> CommandResult {
    let mut stdout = anstream::stdout();
    writeln!(stdout, "{text}")
        .map_err(|e| CommandError::internal(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}

fn missing(store: &FileStore) -> CommandError {
    CommandError::user(format!("no ledger at {}", store.describe())).hinted(
        "run `pbideploy apply` first, or pass --state-file PATH (and -f/--env to pick the default path)",
    )
}

fn list(args: &StateArgs) -> CommandResult {
    let store = store(args);
    let ledger = store
        .load()
        .map_err(ledger_error)?
        .ok_or_else(|| missing(&store))?;
    let lines: Vec<String> = ledger.entries.keys().map(ToString::to_string).collect();
    if lines.is_empty() {
        return out(&format!("The ledger {} tracks nothing.", store.describe()));
    }
    out(&lines.join("\n"))
}

fn show(args: &StateArgs, address: &str) -> CommandResult {
    let address = parse_address(address)?;
    let store = store(args);
    let ledger = store
        .load()
        .map_err(ledger_error)?
        .ok_or_else(|| missing(&store))?;
    let entry = ledger.get(&address).ok_or_else(|| {
        ledger_error(LedgerError::NotFound {
            address: address.to_string(),
        })
    })?;
    let json = serde_json::to_string_pretty(entry)
        .map_err(|e| CommandError::internal(format!("cannot render the entry: {e}")))?;
    out(&format!("# {address}\n{json}"))
}

fn rm(args: &StateArgs, address: &str) -> CommandResult {
    let address = parse_address(address)?;
    let store = store(args);
    let lock = store.lock().map_err(ledger_error)?;
    let mut ledger = store
        .load()
        .map_err(ledger_error)?
        .ok_or_else(|| missing(&store))?;
    let removed = ledger.remove(&address).map_err(ledger_error)?;
    store.save(&ledger, &lock).map_err(ledger_error)?;
    let lines: Vec<String> = removed.iter().map(|a| format!("Removed {a}")).collect();
    out(&lines.join("\n"))
}
