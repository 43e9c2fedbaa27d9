//! A `model.bim` semantic model: the same TMSL `database` JSON as a PBIX's
//! `DataModelSchema`, read by the same reader ([`crate::schema`]), so both give the same
//! [`Model`].

use super::Definition;
use super::error::{Position, ProjectError, json, utf8};
use crate::model::Model;

/// The part holding a TMSL model.
pub(crate) const BIM: &str = "model.bim";

/// The model of a `model.bim` definition.
pub(crate) fn model(def: &Definition) -> Result<Model, ProjectError> {
    let part = def.part(BIM).ok_or_else(|| ProjectError::Parts {
        message: "the semantic model has no `model.bim` and no `definition/*.tmdl`".into(),
    })?;
    let value = json(BIM, &part.bytes)?;
    check_names(&value)?;
    let text = utf8(BIM, &part.bytes)?;
    let (model, _) = crate::schema::read(text)
        .map_err(|reason| ProjectError::syntax(BIM, Position { line: 1, column: 1 }, reason))?;
    Ok(model)
}

/// Every table, column, measure, partition and expression has a name: a nameless one
/// would be dropped or merged silently.
fn check_names(value: &serde_json::Value) -> Result<(), ProjectError> {
    let model = &value["model"];
    let named = |v: &serde_json::Value, what: &str, index: usize| {
        if v["name"].as_str().is_some_and(|n| !n.is_empty()) {
            Ok(())
        } else {
            Err(ProjectError::invalid(
                BIM,
                format!(
                    "{what} #{} has no \"name\"; every {what} needs one",
                    index + 1
                ),
            ))
        }
    };
    for (i, t) in list(model, "tables").iter().enumerate() {
        named(t, "table", i)?;
        for key in ["columns", "measures", "partitions"] {
            for (j, c) in list(t, key).iter().enumerate() {
                named(c, key.trim_end_matches('s'), j)?;
            }
        }
    }
    for (i, e) in list(model, "expressions").iter().enumerate() {
        named(e, "expression", i)?;
    }
    Ok(())
}

fn list<'a>(v: &'a serde_json::Value, key: &str) -> &'a [serde_json::Value] {
    v[key].as_array().map_or(&[], Vec::as_slice)
}
