//! The PBIP readers on arbitrary bytes: the data as one TMDL part of a semantic model
//! (parsed into the model, parameters rewritten), as a `model.bim`, and as a report's
//! `definition.pbir` (binding read and rewritten). Each must return a value or an error,
//! never panic or hang.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use pbix::project::{self, Definition, ItemKind, Part};

fn definition(kind: ItemKind, first: (&str, &[u8]), path: &str, data: &[u8]) -> Option<Definition> {
    let parts = vec![
        Part {
            path: first.0.into(),
            bytes: first.1.to_vec(),
        },
        Part {
            path: path.into(),
            bytes: data.to_vec(),
        },
    ];
    Definition::from_parts(kind, parts).ok()
}

fuzz_target!(|data: &[u8]| {
    let pbism = ("definition.pbism", &b"{\"version\":\"4.0\"}"[..]);
    for path in ["definition/tables/T.tmdl", "model.bim"] {
        let Some(def) = definition(ItemKind::SemanticModel, pbism, path, data) else {
            continue;
        };
        if let Ok(model) = project::semantic_model(&def) {
            let values: BTreeMap<String, String> = model
                .parameters
                .iter()
                .map(|p| (p.name.clone(), "x".to_string()))
                .collect();
            if let Ok(set) = project::set_parameters(&def, &values) {
                let _ = project::semantic_model(&set);
                let _ = project::diff(&def, &set, 3);
            }
        }
    }
    let report = ("report.json", &b"{}"[..]);
    if let Some(def) = definition(ItemKind::Report, report, "definition.pbir", data) {
        let _ = project::report_binding(&def);
        if let Ok(bound) = project::bind_report(&def, "00000000-0000-0000-0000-000000000001") {
            let _ = project::diff(&def, &bound, 3);
        }
    }
});
