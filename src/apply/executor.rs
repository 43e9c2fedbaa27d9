//! The executor: walks the plan's dependency graph, running every ready change with at most
//! `parallelism` steps working at once (a step waiting on the service gives its slot away),
//! deeper steps of a chain first (see [`super::slots`]). A failure skips what depends on it
//! while independent branches finish; the summary lists done, failed and skipped steps.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::StepError;
use super::checkpoint::Checkpoint;
use super::output::Output;
use super::secrets::Secrets;
use super::slots::Slots;
use super::steps;
use crate::live::model::LiveState;
use crate::plan::address::Address;
use crate::plan::graph::{Graph, Scheduler};
use crate::plan::model::{Action, ChangeKind, Operation, Plan};
use crate::powerbi::client::PowerBiClient;

/// How apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Steps working at once at most (each sends one request at a time; a step waiting on
    /// the service, for an import or a refresh, does not count).
    pub parallelism: usize,
    /// Wait for triggered refreshes and report their outcome.
    pub wait_refresh: bool,
    /// Give up waiting for one import after this long.
    pub import_timeout: Duration,
    /// Give up waiting for one refresh after this long.
    pub refresh_timeout: Duration,
    /// PBIX paths in the plan are relative to this directory (the manifest's).
    pub base_dir: PathBuf,
    /// What the plan read in this run, so that apply does not read it again; `None` reads
    /// everything (once) at apply time.
    pub known: Option<Arc<LiveState>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            parallelism: 8,
            wait_refresh: false,
            import_timeout: Duration::from_secs(30 * 60),
            refresh_timeout: Duration::from_secs(2 * 60 * 60),
            base_dir: PathBuf::from("."),
            known: None,
        }
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Done,
    Failed(StepError),
    Skipped,
}

/// The result of an apply.
#[derive(Debug, Clone, Default)]
pub struct ApplySummary {
    pub added: usize,
    pub changed: usize,
    pub deleted: usize,
    /// Addresses done, in completion order.
    pub done: Vec<Address>,
    pub failed: Vec<(Address, StepError)>,
    pub skipped: Vec<Address>,
}

impl ApplySummary {
    /// True when every step succeeded.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }

    fn count(&mut self, action: Action) {
        match action {
            Action::Create => self.added += 1,
            Action::Update => self.changed += 1,
            Action::Delete => self.deleted += 1,
            Action::Replace => {
                self.added += 1;
                self.deleted += 1;
            }
            Action::NoOp | Action::Read => {}
        }
    }
}

/// Everything a step needs, shared by the running steps.
#[derive(Debug)]
pub struct StepContext {
    pub client: PowerBiClient,
    pub options: ApplyOptions,
    pub secrets: Secrets,
    pub checkpoint: Arc<Checkpoint>,
    pub output: Output,
    pub resolver: steps::resolve::Resolver,
    pub gateways: steps::gateways::Gateways,
}

/// Run every change of `plan` in dependency order. Secrets must already be resolved (see
/// [`super::secrets::resolve`]) so nothing is changed when one is missing.
pub async fn execute(
    plan: &Plan,
    client: PowerBiClient,
    secrets: Secrets,
    checkpoint: Arc<Checkpoint>,
    output: Output,
    options: ApplyOptions,
) -> Result<ApplySummary, StepError> {
    let graph = Graph::new(&plan.changes).map_err(|e| StepError::new(e.to_string()))?;
    let mut sched = Scheduler::new(&graph);
    let slots = Slots::new(options.parallelism);
    let depths = graph.depths();
    let ctx = Arc::new(StepContext {
        resolver: resolver(plan, &client, options.known.as_deref()),
        gateways: steps::gateways::Gateways::new(client.clone(), options.known.as_deref()),
        client,
        options,
        secrets,
        checkpoint,
        output: output.clone(),
    });
    let mut set: JoinSet<(usize, Result<Option<String>, StepError>, Duration)> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut summary = ApplySummary::default();
    loop {
        while let Some(i) = sched.next_ready() {
            let change = plan.changes[i].clone();
            let ctx = ctx.clone();
            let slots = slots.clone();
            let depth = depths[i];
            let handle = set.spawn(async move {
                let slot = slots.acquire(depth).await;
                ctx.output.started(&change);
                let start = Instant::now();
                // A lost ledger lock (a blob lease whose renewal failed) stops new steps.
                let result = match ctx.checkpoint.check() {
                    Ok(()) => steps::run(&ctx, &change, &slot).await,
                    Err(e) => Err(StepError::new(format!("not started: {e}"))),
                };
                (i, result, start.elapsed())
            });
            running.insert(handle.id(), i);
        }
        let Some(joined) = set.join_next_with_id().await else {
            break;
        };
        let (i, result, elapsed) = match joined {
            Ok((id, out)) => {
                running.remove(&id);
                out
            }
            Err(e) => {
                let i = running.remove(&e.id()).unwrap_or(0);
                let msg = format!("the step stopped unexpectedly: {e}");
                (i, Err(StepError::new(msg)), Duration::ZERO)
            }
        };
        let change = &plan.changes[i];
        match result {
            Ok(detail) => {
                output.finished(change, elapsed, detail.as_deref());
                summary.count(change.action);
                summary.done.push(change.address.clone());
                sched.complete(i);
            }
            Err(err) => {
                output.failed(change, elapsed, &err);
                summary.failed.push((change.address.clone(), err));
                for s in sched.fail(i) {
                    output.skipped(&plan.changes[s], &change.address.to_string());
                    summary.skipped.push(plan.changes[s].address.clone());
                }
            }
        }
    }
    output.summary(&summary);
    Ok(summary)
}

/// The resolver, seeded with what the plan read when it was made in this run: the workspaces
/// it found, those it found missing (it plans to create them), and the content lists of the
/// workspaces the plan changes content in (it read those lists).
fn resolver(
    plan: &Plan,
    client: &PowerBiClient,
    known: Option<&LiveState>,
) -> steps::resolve::Resolver {
    let Some(live) = known else {
        return steps::resolve::Resolver::new(client.clone());
    };
    let absent = plan.changes.iter().filter_map(|c| match &c.operation {
        Operation::CreateWorkspace { workspace } => Some(workspace.as_str()),
        _ => None,
    });
    let content: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| {
            !matches!(
                c.kind,
                ChangeKind::Workspace
                    | ChangeKind::Capacity
                    | ChangeKind::Access
                    | ChangeKind::GatewayDatasource
            )
        })
        .filter_map(|c| c.address.workspace_name())
        .collect();
    steps::resolve::Resolver::seeded(client.clone(), live, absent, &content)
}
