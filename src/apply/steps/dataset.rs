//! Dataset steps after import: take over, parameters, data sources, connections, gateway
//! binding, refresh (and waiting for it), refresh schedule, delete.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::credentials::{create_gateway_datasource, datasource_ref, describe_sources, gateway};
use super::{StepResult, dataset_address, record};
use crate::apply::StepError;
use crate::apply::checkpoint::update_dataset;
use crate::apply::executor::StepContext;
use crate::apply::slots::Slot;
use crate::plan::model::{
    Change, DatasourceUpdate, GatewayRef, GatewaySourceRule, ItemRef, RefreshSchedule,
};
use crate::powerbi::types::{
    BindToGatewayRequest, ConnectionDetails, Datasource, DatasourceUpdate as WireUpdate,
    DirectQueryRefreshSchedule, NotifyOption, RefreshRequest, RefreshSchedule as WireSchedule,
    RefreshStatus, UpdateParameter,
};

/// `DELETE datasets/{id}`; a dataset already gone counts as deleted.
pub async fn delete(ctx: &StepContext, item: &ItemRef) -> StepResult {
    if let Some(ws) = ctx.resolver.find_workspace(&item.workspace).await?
        && let Some(ds) = ctx.resolver.find_dataset(&ws, &item.name).await?
    {
        ctx.client.delete_dataset(&ws, &ds.id).await?;
        ctx.resolver.deleted_dataset(&ws, &ds.id);
    }
    let addr = dataset_address(item);
    record(ctx, |l| {
        l.entries.remove(&addr);
    })?;
    Ok(None)
}

/// `POST Default.TakeOver`.
pub async fn take_over(ctx: &StepContext, item: &ItemRef) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    ctx.client.take_over_dataset(&ws, &ds.id).await?;
    // Cloud sources move to the new owner's cloud gateway.
    ctx.resolver.sources_changed(&ds.id);
    let addr = dataset_address(item);
    // Cloud credentials belong to the owner: the ones we set before are gone.
    record(ctx, |l| {
        update_dataset(l, &addr, &ds.id, |e| {
            e.credentials.clear();
            e.owner = None;
        })
    })?;
    Ok(Some(format!(
        "was owned by {}",
        ds.configured_by.unwrap_or_default()
    )))
}

/// `POST Default.UpdateParameters`.
pub async fn update_parameters(
    ctx: &StepContext,
    item: &ItemRef,
    values: &BTreeMap<String, String>,
) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    let updates: Vec<UpdateParameter> = values
        .iter()
        .map(|(name, v)| UpdateParameter {
            name: name.clone(),
            new_value: v.clone(),
        })
        .collect();
    for chunk in updates.chunks(100) {
        ctx.client.update_parameters(&ws, &ds.id, chunk).await?;
        ctx.resolver.sources_changed(&ds.id);
    }
    let addr = dataset_address(item);
    record(ctx, |l| {
        update_dataset(l, &addr, &ds.id, |e| e.parameters.extend(values.clone()));
    })?;
    Ok(Some(format!("{} parameter(s)", values.len())))
}

fn to_wire_details(map: &BTreeMap<String, String>) -> Result<ConnectionDetails, StepError> {
    let obj: serde_json::Map<String, serde_json::Value> = map
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|e| StepError::new(format!("invalid connection details {map:?}: {e}")))
}

/// `POST Default.UpdateDatasources`, with selectors taken from the data sources the service
/// reports now (the API wants an exact match).
pub async fn update_datasources(
    ctx: &StepContext,
    item: &ItemRef,
    updates: &[DatasourceUpdate],
) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    let actual: Vec<Datasource> = ctx.resolver.datasources(&ws, &ds.id).await?;
    let mut wire = Vec::new();
    for u in updates {
        let hits: Vec<&Datasource> = actual
            .iter()
            .filter(|a| u.selects().matches(&datasource_ref(a)))
            .collect();
        if hits.is_empty() {
            return Err(StepError::new(format!(
                "no data source of dataset {:?} matches {}",
                item.name,
                u.selects()
            ))
            .with_hint(format!(
                "the datasource selector did not match; the dataset's data sources are: {}",
                describe_sources(&actual)
            )));
        }
        for a in hits {
            wire.push(WireUpdate {
                datasource_selector: Datasource {
                    datasource_type: a.datasource_type.clone(),
                    connection_details: a.connection_details.clone(),
                    datasource_id: None,
                    gateway_id: None,
                },
                connection_details: to_wire_details(&u.connection_details)?,
            });
        }
    }
    ctx.client.update_datasources(&ws, &ds.id, &wire).await?;
    ctx.resolver.sources_changed(&ds.id);
    let addr = dataset_address(item);
    record(ctx, |l| {
        update_dataset(l, &addr, &ds.id, |e| {
            for u in updates {
                e.datasource_updates.retain(|(m, _)| m != &u.matches);
                e.datasource_updates
                    .push((u.matches.clone(), u.connection_details.clone()));
            }
            // Re-pointed sources are new data sources without credentials.
            e.credentials.clear();
        });
    })?;
    Ok(Some(format!("{} data source(s) re-pointed", wire.len())))
}

/// `POST Default.SetAllConnections` (legacy SQL DirectQuery datasets only).
pub async fn set_all_connections(ctx: &StepContext, item: &ItemRef, cs: &str) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    ctx.client.set_all_connections(&ws, &ds.id, cs).await?;
    ctx.resolver.sources_changed(&ds.id);
    let addr = dataset_address(item);
    record(ctx, |l| {
        update_dataset(l, &addr, &ds.id, |e| {
            e.connection_string = Some(cs.to_string())
        });
    })?;
    Ok(None)
}

/// `POST Default.BindToGateway`.
pub async fn bind_to_gateway(
    ctx: &StepContext,
    item: &ItemRef,
    gw: &GatewayRef,
    create_missing: &[GatewaySourceRule],
) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    let g = gateway(ctx, gw).await?;
    if !create_missing.is_empty() {
        // The dataset was imported in this run: its data sources are known only now.
        let sources: Vec<Datasource> = ctx.resolver.datasources(&ws, &ds.id).await?;
        for source in sources.iter().map(datasource_ref) {
            if let Some(rule) = create_missing.iter().find(|r| r.matches.matches(&source)) {
                let name = format!("{} ({})", source, item.name);
                create_gateway_datasource(ctx, gw, &source, &name, &rule.credentials).await?;
            }
        }
    }
    let request = BindToGatewayRequest {
        gateway_object_id: g.id.clone(),
        datasource_object_ids: Vec::new(),
    };
    ctx.client.bind_to_gateway(&ws, &ds.id, &request).await?;
    ctx.resolver.sources_changed(&ds.id);
    let addr = dataset_address(item);
    record(ctx, |l| {
        update_dataset(l, &addr, &ds.id, |e| {
            e.gateway_id = Some(g.id.clone());
            e.credentials.clear();
        });
    })?;
    Ok(Some(format!("gateway {}", g.name)))
}

/// `POST refreshes` with `NoNotification` (the only option service principals may use);
/// with `--wait-refresh`, poll the history until the refresh ends and report its outcome.
pub async fn refresh(
    ctx: &StepContext,
    change: &Change,
    item: &ItemRef,
    slot: &Slot,
) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    let request = RefreshRequest {
        notify_option: Some(NotifyOption::NoNotification),
        ..RefreshRequest::default()
    };
    ctx.client.refresh_dataset(&ws, &ds.id, &request).await?;
    if !ctx.options.wait_refresh {
        return Ok(Some("refresh started".into()));
    }
    slot.idle(wait_refresh(ctx, change, &ws, &ds.id)).await
}

/// Polls the refresh history until the refresh ends (waiting is not work: no slot held).
async fn wait_refresh(ctx: &StepContext, change: &Change, ws: &str, id: &str) -> StepResult {
    let start = Instant::now();
    let mut delay = Duration::from_millis(500);
    let mut waiting = crate::apply::progress::Waiting::new(&ctx.output, change, "refresh running");
    loop {
        let history = ctx.client.refresh_history(ws, id, Some(1)).await?;
        match history.first().and_then(|r| r.status.clone()) {
            Some(RefreshStatus::Completed) => return Ok(Some("refresh completed".into())),
            Some(RefreshStatus::Unknown) | None => {}
            Some(other) => {
                let why = history
                    .first()
                    .and_then(|r| r.service_exception_json.clone())
                    .unwrap_or_default();
                let mut e = StepError::new(format!("the refresh ended with status {other}: {why}"));
                if why.contains("Credentials") {
                    e = e.with_hint(
                        "set the data source credentials in the manifest (`credentials`)",
                    );
                }
                return Err(e);
            }
        }
        if start.elapsed() > ctx.options.refresh_timeout {
            return Err(StepError::new(format!(
                "the refresh did not finish within {:?}",
                ctx.options.refresh_timeout
            )));
        }
        waiting.tick();
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// The import schedule PATCH body: the whole schedule, or `enabled: false` alone (the
/// service refuses anything beside it).
fn import_schedule(s: &RefreshSchedule) -> WireSchedule {
    if !s.enabled {
        return WireSchedule {
            enabled: Some(false),
            ..WireSchedule::default()
        };
    }
    WireSchedule {
        days: Some(s.days.clone()),
        times: Some(s.times.clone()),
        enabled: Some(true),
        local_time_zone_id: Some(s.time_zone.clone()),
        notify_option: Some(NotifyOption::parse(&s.notify_option)),
    }
}

/// `PATCH refreshSchedule` with the whole schedule, or `directQueryRefreshSchedule` with the
/// frequency for a DirectQuery schedule.
pub async fn set_schedule(ctx: &StepContext, item: &ItemRef, s: &RefreshSchedule) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    if let Some(frequency) = s.frequency {
        let wire = DirectQueryRefreshSchedule {
            frequency: Some(frequency),
            local_time_zone_id: Some(s.time_zone.clone()),
            ..DirectQueryRefreshSchedule::default()
        };
        ctx.client
            .update_direct_query_refresh_schedule(&ws, &ds.id, &wire)
            .await?;
    } else {
        ctx.client
            .update_refresh_schedule(&ws, &ds.id, &import_schedule(s))
            .await?;
    }
    let addr = dataset_address(item);
    record(ctx, |l| {
        update_dataset(l, &addr, &ds.id, |e| e.schedule = Some(s.clone()))
    })?;
    Ok(None)
}
