//! What apply knows about gateways, read once per run: the gateways with their public keys,
//! their data sources, which gateway ids are real (on-premises) gateways and which are the
//! per-owner cloud gateway, and the gateway data sources this run created with credentials.
//!
//! Cloud vs gateway comes from what was read, never from a 404: `GET gateways` lists the
//! gateways the caller administers (documented: reference 5.1), and a data source's
//! `gatewayId` that is not among them is the owner's cloud gateway (reference 3.7: `GET
//! gateways/{thatId}` does not work for it, the credentials PATCH unencrypted does) or a
//! gateway the caller may not set credentials on anyway (gateway admins only, reference 5).
//! The plan's read of the gateways the manifest names is reused.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::apply::StepError;
use crate::live::model::LiveState;
use crate::plan::model::{CredentialSpec, DatasourceRef, GatewayRef};
use crate::powerbi::client::PowerBiClient;
use crate::powerbi::types::{Gateway, GatewayDatasource, GatewayPublicKey};

/// Gateway facts of one apply run.
#[derive(Debug)]
pub struct Gateways {
    client: PowerBiClient,
    known: Mutex<Known>,
    /// Creating a gateway data source is check-then-create: one at a time, so two datasets
    /// needing the same source do not both create it.
    create: tokio::sync::Mutex<()>,
    /// Held while reading `GET gateways`, so concurrent steps read it once.
    listing: tokio::sync::Mutex<()>,
}

/// A data source defined on a gateway.
#[derive(Debug, Clone)]
pub struct SourceOnGateway {
    pub id: String,
    pub name: String,
    pub datasource: DatasourceRef,
}

#[derive(Debug, Default)]
struct Known {
    /// Real gateways by lower-cased id.
    by_id: HashMap<String, Gateway>,
    /// Every gateway the caller administers is in `by_id` (`GET gateways` was read).
    listed: bool,
    /// Data sources by lower-cased gateway id.
    sources: HashMap<String, Vec<SourceOnGateway>>,
    /// (gateway id, data source id), lower-cased, created in this run with these credentials.
    created: HashMap<(String, String), CredentialSpec>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Gateways {
    /// Starts from the gateways the plan read in this run, when it did.
    pub fn new(client: PowerBiClient, live: Option<&LiveState>) -> Self {
        let mut known = Known::default();
        for g in live.map(|l| l.gateways.as_slice()).unwrap_or_default() {
            let gateway = Gateway {
                id: g.id.clone(),
                name: g.name.clone(),
                public_key: Some(GatewayPublicKey {
                    exponent: g.public_key_exponent.clone(),
                    modulus: g.public_key_modulus.clone(),
                })
                .filter(|k| !k.modulus.is_empty()),
                ..Gateway::default()
            };
            known.by_id.insert(key(&g.id), gateway);
            let sources = g.datasources.iter().map(|s| SourceOnGateway {
                id: s.id.clone(),
                name: s.name.clone(),
                datasource: s.datasource.clone(),
            });
            known.sources.insert(key(&g.id), sources.collect());
        }
        Self {
            client,
            known: Mutex::new(known),
            create: tokio::sync::Mutex::new(()),
            listing: tokio::sync::Mutex::new(()),
        }
    }

    fn known(&self) -> MutexGuard<'_, Known> {
        // Every update is complete under the lock, so a poisoned lock is still consistent.
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads `GET gateways` once.
    async fn list(&self) -> Result<(), StepError> {
        let _one_read = self.listing.lock().await;
        if self.known().listed {
            return Ok(());
        }
        let all = self.client.list_gateways().await?;
        let mut k = self.known();
        for g in all {
            let id = key(&g.id);
            // Keep a key already known when the list does not carry one.
            let old_key = k.by_id.get(&id).and_then(|o| o.public_key.clone());
            let mut g = g;
            if g.public_key.is_none() {
                g.public_key = old_key;
            }
            k.by_id.insert(id, g);
        }
        k.listed = true;
        Ok(())
    }

    /// The gateway the manifest names, with its public key.
    pub async fn gateway(&self, gw: &GatewayRef) -> Result<Gateway, StepError> {
        let find = |k: &Known| match gw {
            GatewayRef::Id(id) => k.by_id.get(&key(id)).cloned(),
            GatewayRef::Name(name) => k
                .by_id
                .values()
                .find(|g| g.name.eq_ignore_ascii_case(name))
                .cloned(),
        };
        let mut found = find(&self.known());
        if found.is_none() {
            self.list().await?;
            found = find(&self.known());
        }
        let g = match (found, gw) {
            (Some(g), _) => g,
            (None, GatewayRef::Id(id)) => self.client.get_gateway(id).await?,
            (None, GatewayRef::Name(name)) => {
                return Err(StepError::new(format!(
                    "no gateway named {name:?} is visible to the deploying principal"
                ))
                .with_hint("make the deploying principal an admin of the gateway"));
            }
        };
        if g.public_key.is_some() {
            return Ok(g);
        }
        let full = self.client.get_gateway(&g.id).await?;
        self.known().by_id.insert(key(&g.id), full.clone());
        Ok(full)
    }

    /// The public key to encrypt credentials for a data source on `gateway_id`, or `None`
    /// when `gateway_id` is the owner's cloud gateway (credentials go unencrypted).
    pub async fn key_for(&self, gateway_id: &str) -> Result<Option<GatewayPublicKey>, StepError> {
        let cached = self.known().by_id.get(&key(gateway_id)).cloned();
        let g = match cached {
            Some(g) => g,
            None => {
                self.list().await?;
                match self.known().by_id.get(&key(gateway_id)).cloned() {
                    Some(g) => g,
                    None => return Ok(None),
                }
            }
        };
        if let Some(k) = g.public_key {
            return Ok(Some(k));
        }
        let full = self.client.get_gateway(&g.id).await?;
        self.known().by_id.insert(key(&g.id), full.clone());
        Ok(full.public_key)
    }

    /// The gateway's data sources (read once, kept up to date by [`Gateways::created`]).
    pub async fn sources(&self, gateway_id: &str) -> Result<Vec<SourceOnGateway>, StepError> {
        if let Some(list) = self.known().sources.get(&key(gateway_id)) {
            return Ok(list.clone());
        }
        let list: Vec<SourceOnGateway> = self
            .client
            .list_gateway_datasources(gateway_id)
            .await?
            .into_iter()
            .map(source_on_gateway)
            .collect();
        self.known().sources.insert(key(gateway_id), list.clone());
        Ok(list)
    }

    /// Held while checking for and creating a gateway data source.
    pub async fn creating(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.create.lock().await
    }

    /// A data source was created on the gateway with `spec`'s credentials.
    pub fn created(&self, gateway_id: &str, source: SourceOnGateway, spec: &CredentialSpec) {
        let mut k = self.known();
        let pair = (key(gateway_id), key(&source.id));
        k.created.insert(pair, spec.clone());
        k.sources.entry(key(gateway_id)).or_default().push(source);
    }

    /// True when this run created that gateway data source with exactly `spec`: its
    /// credentials were sent then and need not be sent again.
    pub fn created_with(
        &self,
        gateway_id: &str,
        datasource_id: &str,
        spec: &CredentialSpec,
    ) -> bool {
        let pair = (key(gateway_id), key(datasource_id));
        self.known().created.get(&pair) == Some(spec)
    }
}

fn source_on_gateway(d: GatewayDatasource) -> SourceOnGateway {
    let details: BTreeMap<String, String> = d
        .connection_details
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    SourceOnGateway {
        id: d.id,
        name: d.datasource_name.unwrap_or_default(),
        datasource: DatasourceRef {
            datasource_type: d.datasource_type.unwrap_or_default(),
            connection_details: details,
        },
    }
}
