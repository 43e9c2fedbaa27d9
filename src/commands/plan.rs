//! `pbideploy plan`: load the manifest, read the ledger and the live service (GET only), run
//! the planner, and render the plan (text, Markdown or JSON). `--out` saves it for
//! `apply FILE`; under GitHub Actions the Markdown also goes to `$GITHUB_STEP_SUMMARY`.

use std::io::Write;
use std::path::Path;

use crate::cli::{PlanArgs, PlanFormat, ServiceArgs};
use crate::domain::desired::DesiredState;
use crate::env_vars::{self, ProcessEnv, VarSource};
use crate::error::{CommandError, CommandResult};
use crate::ledger::Ledger;
use crate::ledger::backend::{self, DynStore};
use crate::live::model::LiveState;
use crate::live::read::read_live;
use crate::manifest::LoadedManifest;
use crate::plan::build;
use crate::plan::definitions::Definitions;
use crate::plan::model::Plan;
use crate::plan::{PlanOptions, plan};
use crate::session::{self, Session};

use super::shared::{load_manifest, now_rfc3339, parse_targets, runtime};

mod content;
mod render;

/// Everything a plan was made from; `apply` reuses it to execute and to update the ledger.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub desired: DesiredState,
    /// The definitions of the project items, as apply uploads them.
    pub definitions: Definitions,
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
        let session = session::connect(&loaded, &args.service.connect.target()).await?;
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

/// Builds desired state, reads ledger and live state, and runs the planner.
pub async fn make_plan(
    loaded: &LoadedManifest,
    session: &Session,
    service: &ServiceArgs,
    options: PlanOptions,
) -> Result<Planned, CommandError> {
    let store = ledger_store(loaded, service)?;
    // Read without the lock: plan never writes, and a whole-blob read is a consistent copy.
    let ledger = store.load_or_new()?;
    plan_against(loaded, session, store, ledger, options).await
}

/// The ledger store of this manifest and environment (`--state` overrides the manifest's
/// `state:` block).
pub fn ledger_store(
    loaded: &LoadedManifest,
    service: &ServiceArgs,
) -> Result<DynStore, CommandError> {
    Ok(backend::open_for_manifest(
        loaded,
        service.state.as_deref(),
        service.state_credential.as_deref(),
    )?)
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
    let (desired, definitions) =
        build::desired_with_definitions(loaded, &ledger.salt, &ProcessEnv)?;
    let live = read_live(&session.client, &desired, session.principal.clone()).await?;
    options.manifest = build::manifest_fingerprint(loaded)?;
    options.environment = loaded.environment.clone();
    if options.created_at.is_empty() {
        options.created_at = now_rfc3339();
    }
    let mut plan = plan(&desired, &live, &ledger, &options)?;
    content::add_content(&mut plan, session, &desired, &definitions, &live, &ledger).await?;
    Ok(Planned {
        plan,
        desired,
        definitions,
        live,
        ledger,
        ledger_store: store,
    })
}

fn output(args: &PlanArgs, plan: &Plan) -> Result<(), CommandError> {
    let write_err = CommandError::stdout;
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
    if let Some(summary) = ProcessEnv.var(env_vars::GITHUB_STEP_SUMMARY)
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
