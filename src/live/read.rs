//! Reads the live state: for `plan` only what the desired state touches, for `init` what its
//! scope asks for; GET requests only, all at once: the client's in-flight window
//! ([`crate::powerbi::limiter`]) is the one bound on concurrency, so the reader never idles a
//! slot waiting for a phase to end.
//!
//! Chains of dependent reads: gateways, then their data sources; a workspace by name, then its
//! users (only when access is managed), datasets, reports and imports; then per dataset in
//! scope its parameters, data sources, bound gateway data sources and schedule, each only when
//! wanted; then, when credentials are managed, the status of each data source. Each
//! workspace's chain runs as soon as its own reads answer, so the critical path is four
//! requests long.

use std::collections::BTreeMap;

use futures_util::future::{join_all, try_join_all};

use super::model::{
    CredentialStatus, LiveDataset, LiveDatasource, LiveGateway, LiveGatewayDatasource, LiveImport,
    LivePrincipal, LiveReport, LiveState, LiveUser, LiveWorkspace, eq_name,
};
pub use super::scope::{DatasetScope, ReadScope, WorkspaceScope};
use crate::domain::desired::DesiredState;
use crate::domain::operation::{
    DatasourceRef, GatewayRef, Principal, PrincipalType, RefreshSchedule, WorkspaceRole,
};
use crate::powerbi::client::PowerBiClient;
use crate::powerbi::error::ClientError;
use crate::powerbi::types::{self as wire, GroupUserAccessRight};

/// Why the live state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "the service has {count} workspaces named \"{name}\"; rename or delete the extras so the manifest's workspace is unambiguous"
    )]
    DuplicateWorkspace { name: String, count: usize },
    #[error("reading {what}: {source}")]
    Service {
        what: String,
        #[source]
        source: ClientError,
    },
    /// Get Parameters failed: a kind of its own because the service refuses it for some models
    /// (the CLI hints at that).
    #[error("reading parameters of dataset \"{dataset}\": {source}")]
    Parameters {
        dataset: String,
        #[source]
        source: ClientError,
    },
}

impl ReadError {
    /// The service error behind this one, for code / request id / hints.
    pub fn client_error(&self) -> Option<&ClientError> {
        match self {
            Self::Service { source, .. } | Self::Parameters { source, .. } => Some(source),
            Self::DuplicateWorkspace { .. } => None,
        }
    }

    /// What was being read when the service failed, e.g. `users of workspace "Sales"`.
    pub fn what(&self) -> Option<String> {
        match self {
            Self::Service { what, .. } => Some(what.clone()),
            Self::Parameters { dataset, .. } => {
                Some(format!("parameters of dataset \"{dataset}\""))
            }
            Self::DuplicateWorkspace { .. } => None,
        }
    }
}

fn ctx(what: impl FnOnce() -> String) -> impl FnOnce(ClientError) -> ReadError {
    move |source| ReadError::Service {
        what: what(),
        source,
    }
}

/// Reads everything `desired` touches. `principal` is the deploying identity (from the session).
pub async fn read_live(
    client: &PowerBiClient,
    desired: &DesiredState,
    principal: LivePrincipal,
) -> Result<LiveState, ReadError> {
    let (live, _) = read_scope(client, &ReadScope::of_desired(desired), principal).await?;
    Ok(live)
}

/// Reads what `scope` asks for, with GET requests only. Returns the live state and, for a
/// tolerant scope, what was skipped and why.
pub async fn read_scope(
    client: &PowerBiClient,
    scope: &ReadScope,
    principal: LivePrincipal,
) -> Result<(LiveState, Vec<String>), ReadError> {
    let gateways = read_gateways(client, scope.gateways.as_deref());
    let workspaces = try_join_all(
        scope
            .workspaces
            .iter()
            .map(|ws| read_workspace_with_details(client, ws, scope.tolerant)),
    );
    let (gateways, workspaces) = futures_util::try_join!(gateways, workspaces)?;
    let mut skipped = Vec::new();
    let mut found = Vec::new();
    for (ws, notes) in workspaces {
        skipped.extend(notes);
        found.extend(ws);
    }
    let mut live = LiveState {
        principal,
        workspaces: found,
        gateways,
    };
    mark_known_gateways(&mut live);
    Ok((live, skipped))
}

/// A data source on a gateway the manifest names is on an on-premises gateway (the bound
/// gateway data sources only show bindings the dataset reports itself).
fn mark_known_gateways(live: &mut LiveState) {
    let known: Vec<String> = live.gateways.iter().map(|g| g.id.clone()).collect();
    let sources = live
        .workspaces
        .iter_mut()
        .flat_map(|w| w.datasets.iter_mut())
        .flat_map(|d| d.datasources.iter_mut());
    for s in sources {
        if let Some(gid) = &s.gateway_id
            && known.iter().any(|k| wire::same_id(k, gid))
        {
            s.on_premises_gateway = true;
        }
    }
}

/// One workspace with the details of each dataset in scope, read as soon as its lists answer.
async fn read_workspace_with_details(
    client: &PowerBiClient,
    ws: &WorkspaceScope,
    tolerant: bool,
) -> Result<(Option<LiveWorkspace>, Vec<String>), ReadError> {
    let (found, mut skipped) = read_workspace(client, ws, tolerant).await?;
    let Some(mut live) = found else {
        return Ok((None, skipped));
    };
    let jobs: Vec<DetailJob> = live
        .datasets
        .iter()
        .enumerate()
        .filter_map(|(di, lds)| {
            let scope = ws
                .datasets
                .iter()
                .find(|(name, _)| eq_name(&lds.name, name))
                .map(|(_, s)| *s)
                .or(ws.every_dataset)?;
            Some(DetailJob {
                ds_index: di,
                group_id: live.id.clone(),
                dataset_id: lds.id.clone(),
                name: lds.name.clone(),
                scope,
                tolerant,
            })
        })
        .collect();
    let results = try_join_all(jobs.iter().map(|job| async move {
        let d = read_details(client, job).await?;
        Ok::<_, ReadError>((job.ds_index, d))
    }))
    .await?;
    for (di, d) in results {
        let ds = &mut live.datasets[di];
        ds.parameters = d.parameters;
        ds.datasources = d.datasources;
        ds.refresh_schedule = d.schedule;
        skipped.extend(d.skipped);
    }
    Ok((Some(live), skipped))
}

/// A read's result; when `tolerant`, a failure is noted in `skipped` and read as empty.
fn settle<T: Default>(
    r: Result<T, ReadError>,
    tolerant: bool,
    skipped: &mut Vec<String>,
) -> Result<T, ReadError> {
    match r {
        Err(e) if tolerant => {
            skipped.push(e.to_string());
            Ok(T::default())
        }
        other => other,
    }
}

/// One workspace by name with its content lists; `None` when it does not exist.
async fn read_workspace(
    client: &PowerBiClient,
    ws: &WorkspaceScope,
    tolerant: bool,
) -> Result<(Option<LiveWorkspace>, Vec<String>), ReadError> {
    let name = ws.name.clone();
    let groups = client
        .find_groups_by_name(&ws.name)
        .await
        .map_err(ctx(|| format!("workspace \"{name}\"")))?;
    let group = match groups.as_slice() {
        [] => return Ok((None, Vec::new())),
        [one] => one.clone(),
        many => {
            return Err(ReadError::DuplicateWorkspace {
                name: ws.name.clone(),
                count: many.len(),
            });
        }
    };
    let id = group.id.as_str();
    let what = |part: &'static str| {
        let n = ws.name.clone();
        move || format!("{part} of workspace \"{n}\"")
    };
    let users = async {
        if !ws.users {
            Ok(Vec::new())
        } else {
            client
                .list_group_users(id)
                .await
                .map_err(ctx(what("users")))
        }
    };
    let has_content = ws.content;
    let datasets = async {
        if has_content {
            client
                .list_datasets(id)
                .await
                .map_err(ctx(what("datasets")))
        } else {
            Ok(Vec::new())
        }
    };
    let reports = async {
        if has_content {
            client.list_reports(id).await.map_err(ctx(what("reports")))
        } else {
            Ok(Vec::new())
        }
    };
    let imports = async {
        if has_content {
            client.list_imports(id).await.map_err(ctx(what("imports")))
        } else {
            Ok(Vec::new())
        }
    };
    let (users, datasets, reports, imports) =
        futures_util::join!(users, datasets, reports, imports);
    let mut skipped = Vec::new();
    let users = settle(users, tolerant, &mut skipped)?;
    let (datasets, reports, imports) = (datasets?, reports?, imports?);
    let found = Some(LiveWorkspace {
        id: group.id.clone(),
        name: group.name.clone(),
        capacity_id: group.capacity_id.clone(),
        users: users.iter().filter_map(live_user).collect(),
        datasets: datasets.into_iter().map(live_dataset).collect(),
        reports: reports.into_iter().map(live_report).collect(),
        imports: imports.into_iter().map(live_import).collect(),
    });
    Ok((found, skipped))
}

fn live_user(u: &wire::GroupUser) -> Option<LiveUser> {
    let identifier = u.identifier.clone().or_else(|| u.email_address.clone())?;
    let principal_type = match u.principal_type.as_ref() {
        Some(wire::PrincipalType::Group) => PrincipalType::Group,
        Some(wire::PrincipalType::App) => PrincipalType::App,
        Some(wire::PrincipalType::User) | None => PrincipalType::User,
        Some(_) => return None,
    };
    let role = match u.group_user_access_right.as_ref()? {
        GroupUserAccessRight::Admin => WorkspaceRole::Admin,
        GroupUserAccessRight::Member => WorkspaceRole::Member,
        GroupUserAccessRight::Contributor => WorkspaceRole::Contributor,
        GroupUserAccessRight::Viewer => WorkspaceRole::Viewer,
        _ => return None,
    };
    Some(LiveUser {
        principal: Principal {
            identifier,
            principal_type,
        },
        role,
    })
}

fn live_dataset(d: wire::Dataset) -> LiveDataset {
    LiveDataset {
        id: d.id,
        name: d.name,
        configured_by: d.configured_by,
        created_date: d.created_date,
        ..LiveDataset::default()
    }
}

fn live_report(r: wire::Report) -> LiveReport {
    LiveReport {
        id: r.id,
        name: r.name,
        dataset_id: r.dataset_id,
        dataset_workspace_id: r.dataset_workspace_id,
    }
}

fn live_import(i: wire::Import) -> LiveImport {
    LiveImport {
        id: i.id,
        name: i.name,
        state: i
            .import_state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        created: i.created_date_time,
        updated: i.updated_date_time,
        dataset_ids: i.datasets.into_iter().map(|d| d.id).collect(),
        report_ids: i.reports.into_iter().map(|r| r.id).collect(),
    }
}

/// The `wanted` gateways (every visible one when `None`), each with its data sources.
async fn read_gateways(
    client: &PowerBiClient,
    wanted: Option<&[GatewayRef]>,
) -> Result<Vec<LiveGateway>, ReadError> {
    if wanted.is_some_and(<[GatewayRef]>::is_empty) {
        return Ok(Vec::new());
    }
    let all = client
        .list_gateways()
        .await
        .map_err(ctx(|| "gateways".to_string()))?;
    let mut found: Vec<wire::Gateway> = Vec::new();
    for g in &all {
        let hit = wanted.is_none_or(|refs| {
            refs.iter().any(|w| match w {
                GatewayRef::Id(id) => wire::same_id(&g.id, id),
                GatewayRef::Name(name) => eq_name(&g.name, name),
            })
        });
        if hit && !found.iter().any(|f| f.id == g.id) {
            found.push(g.clone());
        }
    }
    try_join_all(found.into_iter().map(|g| async move {
        let gid = g.id.clone();
        let sources = client
            .list_gateway_datasources(&g.id)
            .await
            .map_err(ctx(move || format!("data sources of gateway {gid}")))?;
        let key = g.public_key.clone().unwrap_or_default();
        Ok::<_, ReadError>(LiveGateway {
            id: g.id.clone(),
            name: g.name.clone(),
            public_key_modulus: key.modulus,
            public_key_exponent: key.exponent,
            datasources: sources.iter().map(gateway_datasource).collect(),
        })
    }))
    .await
}

fn gateway_datasource(d: &wire::GatewayDatasource) -> LiveGatewayDatasource {
    let details: BTreeMap<String, String> = d
        .connection_details
        .as_deref()
        .and_then(|s| serde_json::from_str::<BTreeMap<String, serde_json::Value>>(s).ok())
        .map(|m| {
            m.into_iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k, s)),
                    serde_json::Value::Null => None,
                    other => Some((k, other.to_string())),
                })
                .collect()
        })
        .unwrap_or_default();
    LiveGatewayDatasource {
        id: d.id.clone(),
        name: d.datasource_name.clone().unwrap_or_default(),
        datasource: DatasourceRef {
            datasource_type: d.datasource_type.clone().unwrap_or_default(),
            connection_details: details,
        },
        credential_type: d.credential_type.as_ref().map(|c| c.as_str().to_string()),
    }
}

/// What to read for one dataset.
struct DetailJob {
    ds_index: usize,
    group_id: String,
    dataset_id: String,
    name: String,
    scope: DatasetScope,
    tolerant: bool,
}

/// The schedule of the kind the manifest asks for: a DirectQuery one when it sets a
/// frequency, else the import one.
async fn read_schedule(
    client: &PowerBiClient,
    g: &str,
    d: &str,
    direct_query: bool,
) -> Result<RefreshSchedule, ClientError> {
    if direct_query {
        let s = client.get_direct_query_refresh_schedule(g, d).await?;
        let days = s.days.unwrap_or_default();
        return Ok(RefreshSchedule {
            enabled: s.frequency.is_some() || !days.is_empty(),
            days,
            times: s.times.unwrap_or_default(),
            time_zone: s.local_time_zone_id.unwrap_or_else(|| "UTC".into()),
            notify_option: "NoNotification".into(),
            frequency: s.frequency,
        });
    }
    let s = client.get_refresh_schedule(g, d).await?;
    Ok(RefreshSchedule {
        enabled: s.enabled.unwrap_or(false),
        days: s.days.unwrap_or_default(),
        times: s.times.unwrap_or_default(),
        time_zone: s.local_time_zone_id.unwrap_or_else(|| "UTC".into()),
        notify_option: s
            .notify_option
            .map_or_else(|| "NoNotification".into(), |n| n.as_str().to_string()),
        frequency: None,
    })
}

#[derive(Default)]
struct Details {
    parameters: BTreeMap<String, String>,
    datasources: Vec<LiveDatasource>,
    schedule: Option<RefreshSchedule>,
    skipped: Vec<String>,
}

async fn read_details(client: &PowerBiClient, job: &DetailJob) -> Result<Details, ReadError> {
    let (g, d) = (job.group_id.as_str(), job.dataset_id.as_str());
    let want = job.scope;
    let label = |part: &'static str| {
        let n = job.name.clone();
        move || format!("{part} of dataset \"{n}\"")
    };
    let parameters = async {
        if !want.parameters {
            return Ok(BTreeMap::new());
        }
        let ps = client
            .get_parameters(g, d)
            .await
            .map_err(|source| ReadError::Parameters {
                dataset: job.name.clone(),
                source,
            })?;
        Ok(ps
            .into_iter()
            .map(|p| (p.name, p.current_value.unwrap_or_default()))
            .collect())
    };
    let sources = async {
        if !want.datasources {
            return Ok(Vec::new());
        }
        client
            .get_datasources(g, d)
            .await
            .map_err(ctx(label("data sources")))
    };
    let bound = async {
        if !want.bound_gateway_sources {
            return Ok(Vec::new());
        }
        client
            .get_bound_gateway_datasources(g, d)
            .await
            .map_err(ctx(label("bound gateway data sources")))
    };
    let schedule = async {
        if !want.schedule {
            return Ok(None);
        }
        match read_schedule(client, g, d, want.direct_query_schedule).await {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(ctx(label("refresh schedule"))(e)),
        }
    };
    let (parameters, sources, bound, schedule) =
        futures_util::join!(parameters, sources, bound, schedule);
    let mut skipped = Vec::new();
    let parameters = settle(parameters, job.tolerant, &mut skipped)?;
    let sources = settle(sources, job.tolerant, &mut skipped)?;
    let bound = settle(bound, job.tolerant, &mut skipped)?;
    let schedule = settle(schedule, job.tolerant, &mut skipped)?;
    let check_status = want.credential_status;
    let datasources = join_all(
        sources
            .into_iter()
            .map(|s| live_datasource(client, s, &bound, check_status)),
    )
    .await;
    Ok(Details {
        parameters,
        datasources,
        schedule,
        skipped,
    })
}

/// One data source with its binding and (when credentials are managed) its credential status.
async fn live_datasource(
    client: &PowerBiClient,
    s: wire::Datasource,
    bound: &[wire::GatewayDatasource],
    check_status: bool,
) -> LiveDatasource {
    let datasource = DatasourceRef {
        datasource_type: s.datasource_type.clone().unwrap_or_default(),
        connection_details: s
            .connection_details
            .as_ref()
            .map(wire_details)
            .unwrap_or_default(),
    };
    let on_premises_gateway = s.gateway_id.as_deref().is_some_and(|gid| {
        bound.iter().any(|b| {
            b.gateway_id
                .as_deref()
                .is_some_and(|bg| wire::same_id(bg, gid))
        })
    });
    let credential_status = match (&s.gateway_id, &s.datasource_id) {
        (Some(gid), Some(did)) if check_status => {
            match client.gateway_datasource_status(gid, did).await {
                Ok(()) => CredentialStatus::Ok,
                Err(e) => CredentialStatus::Failing(
                    e.api()
                        .and_then(|a| a.code.clone())
                        .unwrap_or_else(|| e.to_string()),
                ),
            }
        }
        (Some(_), Some(_)) => CredentialStatus::Unknown,
        _ => CredentialStatus::NotBound,
    };
    LiveDatasource {
        datasource,
        gateway_id: s.gateway_id,
        datasource_id: s.datasource_id,
        on_premises_gateway,
        credential_status,
    }
}

fn wire_details(c: &wire::ConnectionDetails) -> BTreeMap<String, String> {
    let all = [
        ("server", &c.server),
        ("database", &c.database),
        ("url", &c.url),
        ("path", &c.path),
        ("kind", &c.kind),
        ("account", &c.account),
        ("domain", &c.domain),
        ("emailAddress", &c.email_address),
        ("loginServer", &c.login_server),
        ("classInfo", &c.class_info),
    ];
    all.into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
        .collect()
}
