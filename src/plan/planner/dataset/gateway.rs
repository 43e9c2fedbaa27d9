//! Gateway data sources and the dataset's binding to a gateway.

use serde_json::json;

use super::Step;
use super::sources::expected_sources;
use crate::domain::address::Address;
use crate::domain::desired::DesiredDataset;
use crate::plan::model::{Action, AttrDiff, AttrValue, ChangeKind, GatewaySourceRule, Operation};
use crate::plan::planner::{Ctx, PlanError, change};

pub(super) fn plan_gateway(
    ctx: &mut Ctx<'_>,
    ds: &DesiredDataset,
    step: &Step<'_>,
    deps: &[Address],
    repointed: bool,
) -> Result<Option<Address>, PlanError> {
    let Some(want) = &ds.gateway else {
        return Ok(None);
    };
    let name = want.gateway.to_string();
    let Some(gw) = ctx.live.gateway(&name) else {
        return Err(PlanError::UnknownGateway {
            address: step.addr.clone(),
            gateway: name,
        });
    };
    let gw_id = gw.id.clone();
    let gw_label = format!("{} ({})", gw.name, gw.id);
    let mut bind_deps = deps.to_vec();
    // Created once the dataset that needs it is imported: a failed import leaves nothing
    // behind on the gateway.
    let create_deps = if step.imported {
        vec![step.addr.clone()]
    } else {
        Vec::new()
    };
    if want.create_datasources {
        for source in expected_sources(ds, step) {
            let exists = gw
                .datasources
                .iter()
                .any(|g| source.matches(&g.datasource) && g.datasource.matches(&source));
            if exists {
                continue;
            }
            let Some(cred) = ds.credentials.iter().find(|c| c.matches.matches(&source)) else {
                // A source only the PBIX names (no rule re-points it) is left to the binding,
                // as it was before the file could be read.
                if !is_rule_target(ds, &source) {
                    continue;
                }
                return Err(PlanError::GatewayDatasourceNeedsCredentials {
                    address: step.addr.clone(),
                    datasource: source.to_string(),
                });
            };
            let c = change(
                Address::gateway(&name).keyed("datasource", &source.to_string()),
                ChangeKind::GatewayDatasource,
                Action::Create,
                "the dataset needs this data source on the gateway and the manifest asks to create it",
                create_deps.clone(),
                Operation::CreateGatewayDatasource {
                    gateway: want.gateway.clone(),
                    datasource: source.clone(),
                    datasource_name: format!("{} ({})", source, step.item.name),
                    credentials: cred.spec.clone(),
                },
                vec![
                    AttrDiff::values("datasource", None, json!(source.to_string())),
                    AttrDiff::new("credentials", None, Some(AttrValue::Sensitive)).sensitive(),
                    AttrDiff::new("id", None, Some(AttrValue::KnownAfterApply)),
                ],
            );
            let a = c.address.clone();
            if !ctx.changes.iter().any(|x| x.address == a) {
                ctx.push(c);
            }
            bind_deps.push(a);
        }
    }
    let bound = match step.live {
        Some(l) if !step.imported && !l.datasources.is_empty() => l.datasources.iter().all(|d| {
            d.gateway_id
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(&gw_id))
        }),
        _ => false,
    };
    let created = bind_deps.len() > deps.len();
    if bound && !created && !repointed {
        return Ok(None);
    }
    // Imported in this plan: the PBIX may have data sources no rule names, known only after
    // the import; the bind step creates those the gateway lacks from the credential rules.
    let create_missing: Vec<GatewaySourceRule> =
        if want.create_datasources && (step.imported || step.live.is_none()) {
            ds.credentials
                .iter()
                .map(|c| GatewaySourceRule {
                    matches: c.matches.clone(),
                    credentials: c.spec.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
    // Shown as `name (id)`: a reviewer knows gateways by name.
    let before = step
        .live
        .filter(|_| !step.imported)
        .and_then(|l| l.datasources.iter().find_map(|d| d.gateway_id.as_deref()))
        .map(|id| {
            match ctx
                .live
                .gateways
                .iter()
                .find(|g| g.id.eq_ignore_ascii_case(id))
            {
                Some(g) => format!("{} ({id})", g.name),
                None => id.to_string(),
            }
        });
    let mut attrs = vec![AttrDiff::values(
        "gateway",
        before.map(|b| json!(b)),
        json!(gw_label),
    )];
    // With the PBIX read, the sources to create are listed above as changes of their own.
    if !create_missing.is_empty() && ds.file.is_none() {
        attrs.push(AttrDiff::new(
            "created_sources",
            None,
            Some(AttrValue::KnownAfterApply),
        ));
    }
    let c = change(
        step.addr.child("gateway_binding"),
        ChangeKind::GatewayBinding,
        Action::Update,
        if bound {
            "settings change before it, so the binding is renewed"
        } else {
            "the dataset is not bound to the gateway the manifest names"
        },
        bind_deps,
        Operation::BindToGateway {
            dataset: step.item.clone(),
            gateway: want.gateway.clone(),
            create_missing,
        },
        attrs,
    );
    Ok(Some(ctx.push(c)))
}

/// Whether `source` is the target of one of the dataset's `datasources` rules.
fn is_rule_target(ds: &DesiredDataset, source: &crate::plan::model::DatasourceRef) -> bool {
    ds.datasources.iter().any(|r| {
        r.matches.datasource_type == source.datasource_type
            && r.connection_details == source.connection_details
    })
}
