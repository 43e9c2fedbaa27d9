//! The live definitions of Power BI Project items (`getDefinition`). This is the one request
//! `plan` sends that is not a GET: the Fabric API serves definitions only through
//! `POST …/getDefinition` (a read, possibly a long-running operation). `plan` asks only for
//! the items whose update it plans (to show their diffs and check for data loss), and with
//! `--refresh-only` for every project item the ledger tracks (to report drift).

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use pbix::project::{Definition, ItemKind, Part};

use super::model::LiveState;
use crate::domain::address::Address;
use crate::domain::project::Wanted;
use crate::powerbi::error::ClientError;
use crate::powerbi::fabric::FabricClient;

/// Why a live definition could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionReadError {
    #[error("cannot read the definition of {address} from the service: {source}")]
    Service {
        address: Address,
        #[source]
        source: ClientError,
    },
    #[error("the service's definition of {address} is not readable: {reason}")]
    Invalid { address: Address, reason: String },
}

impl DefinitionReadError {
    /// The service error behind this one, for code / request id / hints.
    pub fn client_error(&self) -> Option<&ClientError> {
        match self {
            Self::Service { source, .. } => Some(source),
            Self::Invalid { .. } => None,
        }
    }
}

/// Reads the live definitions of `wanted` (items the service does not have are skipped).
pub async fn read_definitions(
    fabric: &FabricClient,
    live: &LiveState,
    wanted: &[Wanted],
) -> Result<BTreeMap<Address, Definition>, DefinitionReadError> {
    let reads = wanted.iter().filter_map(|w| {
        let ws = live.workspace(&w.item.workspace)?;
        let id = match w.kind {
            ItemKind::SemanticModel => ws.datasets_named(&w.item.name).first()?.id.clone(),
            ItemKind::Report => ws.reports_named(&w.item.name).first()?.id.clone(),
        };
        Some(read_one(fabric, ws.id.clone(), id, w))
    });
    Ok(try_join_all(reads).await?.into_iter().collect())
}

async fn read_one(
    fabric: &FabricClient,
    workspace_id: String,
    item_id: String,
    wanted: &Wanted,
) -> Result<(Address, Definition), DefinitionReadError> {
    let address = wanted.address.clone();
    let got = fabric
        .get_definition(&workspace_id, &item_id)
        .await
        .map_err(|source| DefinitionReadError::Service {
            address: address.clone(),
            source,
        })?;
    let parts = got
        .parts
        .into_iter()
        .map(|p| Part {
            path: p.path,
            bytes: p.bytes,
        })
        .collect();
    let def =
        Definition::from_parts(wanted.kind, parts).map_err(|e| DefinitionReadError::Invalid {
            address: address.clone(),
            reason: e.to_string(),
        })?;
    Ok((address, def))
}
