//! From a model's named expressions and partitions to what the service derives: the M
//! parameters and the data sources, through the shared M analyser. Every source (`DataModel`
//! rows, TMSL JSON, `Section1.m`) ends here, so the rules are written once.

use crate::m::{self, Query};
use crate::model::{DataSource, Expression, Model, ModelSource, PartitionKind, Table};

/// A model from its tables and expressions, with parameters and data sources derived.
pub(crate) fn model(
    source: ModelSource,
    tables: Vec<Table>,
    expressions: Vec<Expression>,
) -> Model {
    let mut queries: Vec<Query> = expressions
        .iter()
        .filter(|e| e.is_m)
        .map(|e| m::parse_expression(&e.name, &e.text))
        .collect();
    let expression_count = queries.len();
    for t in &tables {
        for p in &t.partitions {
            if let (PartitionKind::M, Some(text)) = (p.kind, &p.query) {
                queries.push(m::parse_expression(&format!("{}/{}", t.name, p.name), text));
            }
        }
    }
    let mut parameters = m::parameters(&queries[..expression_count]);
    for p in &mut parameters {
        let described = expressions.iter().find(|e| e.name == p.name);
        if let Some(d) = described.and_then(|e| e.description.clone()) {
            p.description = Some(d);
        }
    }
    let (data_sources, unresolved_sources) = m::analyse(&queries);
    Model {
        source,
        tables,
        parameters,
        data_sources,
        unresolved_sources,
        expressions,
        relationships: None,
        abf: None,
    }
}

/// Parameters and data sources of a legacy `Section1.m` (for a model whose own rows hold
/// no M).
pub(crate) fn from_section(section: &str) -> (Vec<crate::model::Parameter>, Vec<DataSource>) {
    let queries = m::parse_section(section);
    (m::parameters(&queries), m::analyse(&queries).0)
}

/// The data-access calls of a legacy `Section1.m` whose source could not be derived (see
/// [`Model::unresolved_sources`]).
pub(crate) fn unresolved_in_section(section: &str) -> Vec<String> {
    m::analyse(&m::parse_section(section)).1
}

/// Drops repeated data sources, keeping the first of each.
pub(crate) fn dedupe(list: &mut Vec<DataSource>) {
    let mut seen: Vec<DataSource> = Vec::new();
    list.retain(|d| {
        let new = !seen.contains(d);
        if new {
            seen.push(d.clone());
        }
        new
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(name: &str, text: &str) -> Expression {
        Expression {
            name: name.into(),
            is_m: true,
            text: text.into(),
            description: None,
        }
    }

    /// New parameter values re-point the sources built from them; sources that become equal
    /// merge, as the service lists each once.
    #[test]
    fn parameter_values_are_substituted_into_the_sources() {
        let p = r#""a" meta [IsParameterQuery=true, Type="Text", IsParameterQueryRequired=true]"#;
        let model = model(
            ModelSource::DataModelSchema,
            Vec::new(),
            vec![
                expr("Server", p),
                expr("One", r#"Sql.Database(Server, "db")"#),
                expr("Two", r#"Sql.Database("b", "db")"#),
                expr("Three", r#"Snowflake.Databases("acct")"#),
            ],
        );
        assert_eq!(model.data_sources.len(), 2);
        assert_eq!(model.unresolved_sources, vec!["Snowflake.Databases"]);
        let moved = model.data_sources_with(|n| (n == "Server").then(|| "c".to_string()));
        assert_eq!(moved.len(), 2);
        assert_eq!(moved[0].connection_details["server"], "c");
        let merged = model.data_sources_with(|n| (n == "Server").then(|| "b".to_string()));
        assert_eq!(merged.len(), 1, "{merged:?}");
        let kept = model.data_sources_with(|_| None);
        assert_eq!(kept, model.data_sources);
    }
}
