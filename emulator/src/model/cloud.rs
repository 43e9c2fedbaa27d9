//! Cloud data sources: each source of a dataset that no real gateway serves is given an id
//! on its owner's synthetic cloud gateway, where its credentials live. Done when an import
//! creates the dataset, when its sources change and when a Fabric definition is applied.

use crate::app::World;
use crate::model::GatewayDatasource;
use crate::util::eq_ci;
use serde_json::{Map, Value};

/// Gives each datasource not bound to a real gateway an id on the owner's cloud gateway.
/// documented: 3.7 (cloud sources report a per-user cloud gateway); guess: shared per owner and source
pub fn bind_cloud(w: &mut World, idx: usize) {
    let owner = w.model.datasets[idx].owner_object_id.clone();
    let cgw = match w.model.cloud_gateways.get(&owner) {
        Some(g) => g.clone(),
        None => {
            let id = w.new_id();
            w.model.cloud_gateways.insert(owner.clone(), id.clone());
            id
        }
    };
    for n in 0..w.model.datasets[idx].datasources.len() {
        let ds = w.model.datasets[idx].datasources[n].clone();
        if !ds.gateway_id.is_empty()
            && w.model
                .gateways
                .iter()
                .any(|g| eq_ci(&g.id, &ds.gateway_id))
        {
            continue;
        }
        let existing = w
            .model
            .cloud_datasources
            .iter()
            .find(|c| {
                c.gateway_id == cgw
                    && eq_ci(&c.datasource_type, &ds.datasource_type)
                    && same_details(&c.connection_details, &ds.connection_details)
            })
            .map(|c| c.id.clone());
        let id = match existing {
            Some(id) => id,
            None => {
                let id = w.new_id();
                w.model.cloud_datasources.push(GatewayDatasource {
                    id: id.clone(),
                    gateway_id: cgw.clone(),
                    datasource_name: String::new(),
                    datasource_type: ds.datasource_type.clone(),
                    connection_details: ds.connection_details.clone(),
                    ..GatewayDatasource::default()
                });
                id
            }
        };
        let d = &mut w.model.datasets[idx].datasources[n];
        d.gateway_id = cgw.clone();
        d.datasource_id = id;
    }
}

/// Connection details equal: same keys, values equal ignoring case. // guess: 8.2 #7 (case-insensitive)
pub fn same_details(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    let norm = |m: &Map<String, Value>| {
        let mut v: Vec<(String, String)> = m
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.as_str()
                        .map(str::to_lowercase)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}
