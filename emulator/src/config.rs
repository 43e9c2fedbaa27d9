//! Emulator configuration and the tenant file (seed state).

use crate::model::{Capacity, Gateway, Group, Model, Tenant};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// How to run an emulator. `Default` = the default tenant on 127.0.0.1, a free port, no faults.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to bind (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Tenant file (JSON) seeding the state; `None` = the default tenant.
    pub tenant: Option<PathBuf>,
    /// State file: loaded at start when it exists, saved after every change.
    pub state_file: Option<PathBuf>,
    /// Added latency per request, ms.
    pub latency_ms: u64,
    /// Random extra latency up to this many ms.
    pub jitter_ms: u64,
    /// How long imports (and refreshes, capacity assignments) stay in progress, ms.
    pub import_delay_ms: u64,
    /// Requests per second allowed per principal (token bucket); 0 = unlimited.
    pub throttle_rps: f64,
    /// Probability (0..1) that an API request fails with 500/503 or a dropped connection,
    /// or that an import fails.
    pub fault_rate: f64,
    /// Seed of the random generator (ids, tokens, faults, jitter).
    pub seed: u64,
    /// How long Fabric long-running operations (create, updateDefinition, getDefinition)
    /// run, ms.
    pub lro_delay_ms: u64,
    /// Fabric calls answer at once (201/200) instead of 202 and an operation.
    pub lro_sync: bool,
    /// Items per page of the Fabric items list (0 = 100).
    pub items_page_size: usize,
    /// How long a deleted Fabric item's display name stays unavailable
    /// (`ItemDisplayNameNotAvailableYet`), ms.
    pub name_hold_ms: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tenant: None,
            state_file: None,
            latency_ms: 0,
            jitter_ms: 0,
            import_delay_ms: 0,
            throttle_rps: 0.0,
            fault_rate: 0.0,
            seed: 0,
            lro_delay_ms: 0,
            lro_sync: false,
            items_page_size: 0,
            name_hold_ms: 0,
        }
    }
}

/// The tenant file: tenant settings plus optional seeded gateways and workspaces.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantFile {
    /// Tenant settings (openAuth, tokenLifetimeSecs, principals, capacities, pbixViews).
    #[serde(flatten)]
    pub tenant: Tenant,
    /// Gateways; when absent the two default gateways are created.
    pub gateways: Option<Vec<Gateway>>,
    /// Workspaces to create.
    pub groups: Vec<Group>,
}

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not valid JSON of the expected shape.
    #[error("{path} is not a valid {what} (see emulator/README.md): {source}")]
    Parse {
        /// The file.
        path: String,
        /// Tenant file or state file.
        what: &'static str,
        /// The cause.
        source: serde_json::Error,
    },
    /// The default gateway keys could not be loaded.
    #[error("cannot load the default gateway keys: {0}")]
    Keys(String),
}

/// Id of the default tenant's capacity. // guess: a capacity so AssignToCapacity can be tried
pub const DEFAULT_CAPACITY_ID: &str = "0F084DF7-C13D-451B-AF5F-ED0C466403B2";
/// Id of the default `Local Gateway`.
pub const LOCAL_GATEWAY_ID: &str = "1f69e798-5852-4fdd-ab01-33bb14b6e934";
/// Id of the default `Legacy Gateway`.
pub const LEGACY_GATEWAY_ID: &str = "7f1c4e55-544b-403f-b132-da0d3a024674";

/// Builds the seed model from the tenant file (or the default tenant).
pub fn seed_model(tenant: Option<&PathBuf>) -> Result<Model, ConfigError> {
    let file = match tenant {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                path: path.display().to_string(),
                source,
            })?;
            serde_json::from_str::<TenantFile>(&text).map_err(|source| ConfigError::Parse {
                path: path.display().to_string(),
                what: "tenant file",
                source,
            })?
        }
        None => TenantFile {
            tenant: Tenant {
                capacities: vec![Capacity {
                    id: DEFAULT_CAPACITY_ID.into(),
                    display_name: "Emulator Premium".into(),
                    sku: "P1".into(),
                    state: "Active".into(),
                    region: "West Europe".into(),
                }],
                ..Tenant::default()
            },
            ..TenantFile::default()
        },
    };
    let gateways = match file.gateways {
        Some(g) => g,
        None => default_gateways()?,
    };
    let mut groups = file.groups;
    for g in &mut groups {
        if g.id.is_empty() {
            g.id = uuid::Uuid::new_v4().to_string();
        }
    }
    Ok(Model {
        tenant: file.tenant,
        gateways,
        groups,
        ..Model::default()
    })
}

/// The default tenant's gateways: `Local Gateway` (2048-bit) and `Legacy Gateway` (1024-bit).
fn default_gateways() -> Result<Vec<Gateway>, ConfigError> {
    let (k2048, k1024) =
        crate::crypto::default_gateway_keys().map_err(|e| ConfigError::Keys(e.to_string()))?;
    let gw = |id: &str, name: &str, pem: String| Gateway {
        id: id.into(),
        name: name.into(),
        private_key_pem: pem,
        datasources: Vec::new(),
        reachable: true,
    };
    Ok(vec![
        gw(LOCAL_GATEWAY_ID, "Local Gateway", k2048.to_pkcs8_pem()),
        gw(LEGACY_GATEWAY_ID, "Legacy Gateway", k1024.to_pkcs8_pem()),
    ])
}
