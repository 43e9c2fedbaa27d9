//! `pbideploy plan`: load the manifest, read the ledger and the live service (GET only), run
//! the planner, and render the plan (text, Markdown or JSON). `--out` saves it for
//! `apply FILE`; under GitHub Actions the Markdown also goes to `$GITHUB_STEP_SUMMARY`.

use std::io::Write;
use std::path::Path;

use crate::cli::{PlanArgs, PlanFormat, ServiceArgs};
use crate::diagnostics::Diagnostics;
use crate::error::{CommandError, CommandResult, ErrorKind};
use crate::ledger::Ledger;
use crate::ledger::backend::{self, DynStore, StateSpec};
use crate::live::model::LiveState;
use crate::live::read::{ReadError, read_live};
use crate::manifest::{self, LoadedManifest};
use crate::plan::address::Address;
use crate::plan::build::{self, BuildError};
use crate::plan::desired::DesiredState;
use crate::plan::model::Plan;
use crate::plan::{PlanError, PlanOptions, plan};
use crate::powerbi::error::ClientError;
use crate::session::{self, Session, SessionError};

use super::validate::parse_vars;

mod render;

/// Everything a plan was made from; `apply` reuses it to execute and to update the ledger.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub desired: DesiredState,
    pub live: LiveState,
    pub ledger: Ledger,
    pub ledger_store: DynStore,
}

/// Runs the command: exit 0, or with `--detailed-exitcode` 0 (no changes) / 2 (changes).
pub fn run(args: &PlanArgs) -> CommandResult {
    let loaded = load_manifest(&args.manifest)?;
    let targets = parse_targets(&args.targets)?;
    let runtime = runtime()?;
    let planned = runtime.block_on(async {
        let session = session::connect(&loaded, &args.service.connect)
            .await
            .map_err(session_error)?;
        let options = PlanOptions {
            targets,
            refresh_only: args.refresh_only,
            ..PlanOptions::default()
        };
        let result = make_plan(&loaded, &session, &args.service, options).await;
        session.close().await;
        result
    })?;
    output(args, &planned.plan)?;
    if args.detailed_exitcode && planned.plan.has_changes() {
        Ok(2)
    } else {
        Ok(0)
    }
}

/// A multi-threaded runtime for one command (reads run concurrently).
pub fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CommandError::internal(format!("cannot start the async runtime: {e}")))
}

/// Loads the manifest; on failure prints the diagnostics as `validate` does and exits 1.
pub fn load_manifest(args: &crate::cli::ManifestArgs) -> Result<LoadedManifest, CommandError> {
    let vars = parse_vars(args)?;
    manifest::load(&args.file, args.env.as_deref(), &vars).map_err(|diags| {
        print_diagnostics(&diags);
        CommandError::reported(ErrorKind::User)
    })
}

fn print_diagnostics(diags: &Diagnostics) {
    let styled = anstream::stderr().current_choice() != anstream::ColorChoice::Never;
    let _ = write!(anstream::stderr(), "{}", diags.render(styled));
}

/// Parses `--target` addresses.
pub fn parse_targets(raw: &[String]) -> Result<Vec<Address>, CommandError> {
    raw.iter()
        .map(|t| {
            t.parse::<Address>().map_err(|e| {
                CommandError::user(format!("invalid --target `{t}`: {e}"))
                    .hinted("addresses look like workspace[\"Sales\"].dataset[\"Sales Model\"]")
            })
        })
        .collect()
}

/// Builds desired state, reads ledger and live state, and runs the planner.
pub async fn make_plan(
    loaded: &LoadedManifest,
    session: &Session,
    service: &ServiceArgs,
    options: PlanOptions,
) -> Result<Planned, CommandError> {
    let store = ledger_store(loaded, service)?;
    // Read without the lock: plan never writes, and a whole-blob read is a consistent copy.
    let ledger = load_ledger(&*store)?;
    plan_against(loaded, session, store, ledger, options).await
}

/// The ledger store of this manifest and environment (`--state` overrides the manifest's
/// `state:` block).
pub fn ledger_store(
    loaded: &LoadedManifest,
    service: &ServiceArgs,
) -> Result<DynStore, CommandError> {
    open_store(
        loaded,
        service.state.as_deref(),
        service.state_credential.as_deref(),
    )
}

/// The store named by `url` (else the manifest's `state:` block, else the default file),
/// authorised by `credential` (else the manifest's `state.credential`).
pub fn open_store(
    loaded: &LoadedManifest,
    url: Option<&str>,
    credential: Option<&str>,
) -> Result<DynStore, CommandError> {
    let from_manifest = loaded.state.as_ref();
    let credential = match credential {
        Some(text) => Some(backend::parse_reference(text).map_err(CommandError::user)?),
        None => from_manifest.and_then(|s| s.credential.clone()),
    };
    let spec = StateSpec {
        url: url
            .map(str::to_owned)
            .or_else(|| from_manifest.map(|s| s.url.clone())),
        credential,
        lease_secs: from_manifest.and_then(|s| s.lease_seconds),
    };
    backend::open(&spec, &loaded.path, loaded.environment.as_deref())
        .map_err(|e| CommandError::user(e.to_string()))
}

/// The ledger in `store`, or a fresh one when there is none yet.
pub fn load_ledger(store: &dyn crate::ledger::store::LedgerStore) -> Result<Ledger, CommandError> {
    build::load_ledger(store).map_err(build_error)
}

/// Builds desired state and reads live state, then plans against `ledger` (read from
/// `store`). `apply` calls this with the ledger it read under the lock it holds.
pub async fn plan_against(
    loaded: &LoadedManifest,
    session: &Session,
    store: DynStore,
    ledger: Ledger,
    mut options: PlanOptions,
) -> Result<Planned, CommandError> {
    let desired = build::desired_state(loaded, &ledger.salt).map_err(build_error)?;
    let live = read_live(&session.client, &desired, session.principal.clone())
        .await
        .map_err(read_error)?;
    options.manifest = build::manifest_fingerprint(loaded).map_err(build_error)?;
    options.environment = loaded.environment.clone();
    if options.created_at.is_empty() {
        options.created_at = now_rfc3339();
    }
    let plan = plan(&desired, &live, &ledger, &options).map_err(plan_error)?;
    Ok(Planned {
        plan,
        desired,
        live,
        ledger,
        ledger_store: store,
    })
}

fn output(args: &PlanArgs, plan: &Plan) -> Result<(), CommandError> {
    let write_err =
        |e: std::io::Error| CommandError::internal(format!("cannot write to stdout: {e}"));
    let mut out = anstream::stdout();
    match args.format {
        PlanFormat::Text => {
            let color = out.current_choice() != anstream::ColorChoice::Never;
            write!(out, "{}", crate::plan::render::render_text(plan, color)).map_err(write_err)?;
        }
        PlanFormat::Markdown => {
            write!(out, "{}", crate::plan::render::render_markdown(plan)).map_err(write_err)?
        }
        PlanFormat::Json => writeln!(out, "{}", render::json(plan)?).map_err(write_err)?,
    }
    if let Some(path) = &args.out {
        render::save(path, plan)?;
        if args.format == PlanFormat::Text {
            writeln!(
                out,
                "\nSaved the plan to {}; apply it with `pbideploy apply {}`.",
                path.display(),
                path.display()
            )
            .map_err(write_err)?;
        }
    }
    if let Ok(summary) = std::env::var("GITHUB_STEP_SUMMARY")
        && !summary.trim().is_empty()
    {
        append(
            Path::new(&summary),
            &crate::plan::render::render_markdown(plan),
        )?;
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> Result<(), CommandError> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            CommandError::user(format!(
                "cannot open $GITHUB_STEP_SUMMARY ({}): {e}",
                path.display()
            ))
        })?;
    writeln!(f, "{text}").map_err(|e| {
        CommandError::user(format!(
            "cannot write $GITHUB_STEP_SUMMARY ({}): {e}",
            path.display()
        ))
    })
}

/// RFC 3339 UTC time now (the planner reads no clock).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A service error with code, message, request id and a hint for known causes.
pub fn client_error(context: &str, e: &ClientError) -> CommandError {
    let mut err = CommandError::service(format!("{context}: {e}"));
    if let Some(api) = e.api() {
        if let Some(code) = &api.code {
            err = err.hinted(format!("service error code: {code}"));
        }
        if let Some(id) = &api.request_id {
            err = err.hinted(format!("request id: {id} (quote it to Microsoft support)"));
        }
        let by_status = match api.status.as_u16() {
            401 => Some(
                "the token was refused: check the tenant, client id and secret (or the token's expiry)",
            ),
            403 => Some(
                "the principal lacks access: add it to the workspace (Member or Admin) and allow service principals in the tenant settings",
            ),
            404 => Some("the item was not found or the principal cannot see it"),
            429 => Some("the service is throttling requests; try again later"),
            _ => None,
        };
        if let Some(h) = crate::powerbi::hints::known_cause(api).or(by_status) {
            err = err.hinted(h);
        }
    }
    err
}

pub(crate) fn session_error(e: SessionError) -> CommandError {
    match &e {
        SessionError::Client(c) => client_error("cannot connect to the service", c),
        SessionError::Auth(_) => CommandError::service(e.to_string()).hinted(
            "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or use --service local to try the local emulator)",
        ),
        SessionError::Local(_) => CommandError::internal(e.to_string()),
        _ => CommandError::user(e.to_string()),
    }
}

fn read_error(e: ReadError) -> CommandError {
    match e.client_error() {
        Some(c) => {
            let what = what(&e);
            let err = client_error(&format!("cannot read the live state ({what})"), c);
            match c.api().map(|api| api.status.as_u16()) {
                Some(400) if what.starts_with("parameters of") => err.hinted(PARAMETERS_REFUSED),
                _ => err,
            }
        }
        None => CommandError::user(e.to_string()),
    }
}

/// Get Parameters is documented as unsupported for some models; plan reads parameters only
/// for datasets whose manifest entry has `parameters`.
const PARAMETERS_REFUSED: &str = "the service does not read parameters of DirectQuery models on SQL, Oracle, Teradata or SAP HANA, nor of models changed through XMLA: remove `parameters` from this dataset and re-point its sources with `datasources` rules";

fn what(e: &ReadError) -> String {
    match e {
        ReadError::Service { what, .. } => what.clone(),
        other => other.to_string(),
    }
}

fn build_error(e: BuildError) -> CommandError {
    CommandError::user(e.to_string())
}

fn plan_error(e: PlanError) -> CommandError {
    match e {
        PlanError::Graph(g) => {
            CommandError::internal(format!("the plan's dependency graph is invalid: {g}"))
        }
        other => CommandError::user(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_time_is_well_formed() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.starts_with("20"));
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn bad_targets_are_user_errors() {
        assert!(parse_targets(&["workspace[\"A\"]".into()]).is_ok());
        let err = parse_targets(&["not an address".into()]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::User);
    }
}
