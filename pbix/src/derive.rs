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
    Model {
        source,
        tables,
        parameters,
        data_sources: m::datasources(&queries),
        expressions,
        relationships: None,
        abf: None,
    }
}

/// Parameters and data sources of a legacy `Section1.m` (for a model whose own rows hold
/// no M).
pub(crate) fn from_section(section: &str) -> (Vec<crate::model::Parameter>, Vec<DataSource>) {
    let queries = m::parse_section(section);
    (m::parameters(&queries), m::datasources(&queries))
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
