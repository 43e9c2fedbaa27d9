//! Credential steps: gateway data source creation (credentials encrypted with the gateway's
//! key) and the credentials PATCH for each data source a rule matches: cloud sources get
//! `encryptionAlgorithm: None`, on-premises gateway sources `RSA-OAEP` with that gateway's key.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::gateways::SourceOnGateway;
use super::{StepResult, dataset_address, record};
use crate::apply::StepError;
use crate::apply::checkpoint::update_dataset;
use crate::apply::executor::StepContext;
use crate::apply::secrets::credential_fingerprint;
use crate::ledger::CredentialEntry;
use crate::plan::model::{
    CredentialSpec, CredentialType as SpecType, DatasourceRef, GatewayRef, ItemRef,
};
use crate::powerbi::credentials::{anonymous_json, credential_data_json};
use crate::powerbi::types::{
    CreateGatewayDatasourceRequest, CredentialDetails, CredentialType, Datasource,
    EncryptedConnection, Gateway, GatewayPublicKey, PrivacyLevel,
};

/// A wire data source as a [`DatasourceRef`].
pub fn datasource_ref(d: &Datasource) -> DatasourceRef {
    let mut details = BTreeMap::new();
    if let Some(cd) = &d.connection_details
        && let Ok(serde_json::Value::Object(obj)) = serde_json::to_value(cd)
    {
        for (k, v) in obj {
            if let Some(s) = v.as_str() {
                details.insert(k, s.to_string());
            }
        }
    }
    DatasourceRef {
        datasource_type: d.datasource_type.clone().unwrap_or_default(),
        connection_details: details,
    }
}

/// The data sources, listed for error hints.
pub fn describe_sources(list: &[Datasource]) -> String {
    if list.is_empty() {
        return "(none)".into();
    }
    list.iter()
        .map(|d| datasource_ref(d).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The gateway named by `gw`, with its public key (read once per run).
pub async fn gateway(ctx: &StepContext, gw: &GatewayRef) -> Result<Gateway, StepError> {
    ctx.gateways.gateway(gw).await
}

/// The `credentials` JSON string, secrets resolved (zeroized on drop).
fn credentials_json(
    ctx: &StepContext,
    spec: &CredentialSpec,
) -> Result<Zeroizing<String>, StepError> {
    if spec.credential_type == SpecType::Anonymous {
        return Ok(anonymous_json());
    }
    let mut pairs = Vec::new();
    for (name, value) in &spec.fields {
        let v = ctx.secrets.field(value).ok_or_else(|| {
            StepError::new(format!(
                "the secret for credential field {name:?} was not resolved"
            ))
        })?;
        pairs.push((name.as_str(), v));
    }
    Ok(credential_data_json(pairs))
}

/// The `credentialDetails` for a spec: plain for cloud sources, encrypted with `key` for
/// gateway sources.
fn details(
    ctx: &StepContext,
    spec: &CredentialSpec,
    key: Option<&GatewayPublicKey>,
) -> Result<CredentialDetails, StepError> {
    let connection = if spec.encrypted_connection {
        EncryptedConnection::Encrypted
    } else {
        EncryptedConnection::NotEncrypted
    };
    let privacy = PrivacyLevel::parse(&format!("{:?}", spec.privacy_level));
    let details = if spec.use_caller_identity {
        CredentialDetails::caller_identity(connection, privacy)
    } else {
        let kind = match spec.credential_type {
            SpecType::SAS => CredentialType::Sas,
            other => CredentialType::parse(&format!("{other:?}")),
        };
        let json = credentials_json(ctx, spec)?;
        match key {
            Some(k) => CredentialDetails::gateway(kind, &json, k, connection, privacy)
                .map_err(|e| StepError::new(format!("cannot encrypt the credentials: {e}")))?,
            None => CredentialDetails::cloud(kind, &json, connection, privacy),
        }
    };
    Ok(details.with_end_user_oauth2(spec.sso))
}

/// `PATCH gateways/{gw}/datasources/{ds}` for every data source of the dataset the rule
/// matches, then record the credential's fingerprint.
pub async fn set_credentials(
    ctx: &StepContext,
    item: &ItemRef,
    rule: &DatasourceRef,
    spec: &CredentialSpec,
) -> StepResult {
    let (ws, ds) = ctx.resolver.dataset(item).await?;
    let actual = ctx.resolver.datasources(&ws, &ds.id).await?;
    let hits: Vec<&Datasource> = actual
        .iter()
        .filter(|a| rule.matches(&datasource_ref(a)))
        .collect();
    if hits.is_empty() {
        return Err(StepError::new(format!(
            "no data source of dataset {:?} matches {rule}",
            item.name
        ))
        .with_hint(format!(
            "the datasource selector did not match; the dataset's data sources are: {}",
            describe_sources(&actual)
        )));
    }
    let mut kinds = Vec::new();
    for a in hits {
        let (Some(gw), Some(id)) = (&a.gateway_id, &a.datasource_id) else {
            return Err(StepError::new(format!(
                "the data source {} of dataset {:?} has no gateway data source",
                datasource_ref(a),
                item.name
            ))
            .with_hint("the dataset is not bound to a gateway: add a `gateway` section to it in the manifest"));
        };
        if ctx.gateways.created_with(gw, id, spec) {
            kinds.push("gateway (sent when the data source was created)");
            continue;
        }
        let key = ctx.gateways.key_for(gw).await?;
        let body = details(ctx, spec, key.as_ref())?;
        ctx.client
            .update_datasource_credentials(gw, id, &body)
            .await?;
        kinds.push(if key.is_some() {
            "gateway (RSA-OAEP)"
        } else {
            "cloud"
        });
    }
    let salt = ctx.checkpoint.salt();
    let fp = credential_fingerprint(&salt, spec, &ctx.secrets).unwrap_or_default();
    let references = spec
        .secret_references()
        .iter()
        .map(ToString::to_string)
        .collect();
    let addr = dataset_address(item);
    record(ctx, |l| {
        update_dataset(l, &addr, &ds.id, |e| {
            e.credentials.insert(
                rule.to_string(),
                CredentialEntry {
                    fingerprint: fp,
                    references,
                    applied_at: None,
                    settings: Some(spec.settings()),
                },
            );
        });
    })?;
    Ok(Some(kinds.join(", ")))
}

/// `POST gateways/{gw}/datasources` unless a data source of that name or with the same
/// connection already exists there (a re-run after a kill must not create a second one).
pub async fn create_gateway_datasource(
    ctx: &StepContext,
    gw: &GatewayRef,
    datasource: &DatasourceRef,
    name: &str,
    spec: &CredentialSpec,
) -> StepResult {
    let g = gateway(ctx, gw).await?;
    let _one_at_a_time = ctx.gateways.creating().await;
    let existing = ctx.gateways.sources(&g.id).await?;
    let same = existing.iter().any(|d| {
        d.name.eq_ignore_ascii_case(name)
            || (datasource.matches(&d.datasource) && d.datasource.matches(datasource))
    });
    if same {
        return Ok(Some("already exists on the gateway".into()));
    }
    let key = g
        .public_key
        .clone()
        .ok_or_else(|| StepError::new(format!("the gateway {} reports no public key", g.name)))?;
    let request = CreateGatewayDatasourceRequest {
        datasource_type: datasource.datasource_type.clone(),
        connection_details: serde_json::to_string(&datasource.connection_details)
            .map_err(|e| StepError::new(e.to_string()))?,
        datasource_name: name.to_string(),
        credential_details: details(ctx, spec, Some(&key))?,
    };
    let created = ctx
        .client
        .create_gateway_datasource(&g.id, &request)
        .await?;
    let source = SourceOnGateway {
        id: created.id.clone(),
        name: name.to_string(),
        datasource: datasource.clone(),
    };
    ctx.gateways.created(&g.id, source, spec);
    Ok(Some(format!("id={}", created.id)))
}
