//! From a model's named expressions and partitions to what the service derives: the M
//! parameters and the data sources, through the shared M analyser. Every source (`DataModel`
//! rows, TMSL JSON, `Section1.m`) ends here, so the rules are written once.

use std::collections::{HashMap, HashSet};

use crate::m::{self, Query, SourceCall};
use crate::model::{
    DataSource, Expression, Model, ModelSource, Parameter, PartitionKind, SourceUse, Table,
};

/// Most query-to-query steps [`source_uses`] takes in all: references fan out, so hostile M
/// could make following them quadratic. Past it, calls reached only through other queries
/// are listed under the query that holds them.
const MAX_REFERENCE_STEPS: usize = 1_000_000;

/// A model from its tables and expressions, with parameters and data sources derived.
pub(crate) fn model(
    source: ModelSource,
    tables: Vec<Table>,
    expressions: Vec<Expression>,
) -> Model {
    let mut queries: Vec<Query> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for e in expressions.iter().filter(|e| e.is_m) {
        queries.push(m::parse_expression(&e.name, &e.text));
        names.push(e.name.clone());
    }
    let expression_count = queries.len();
    let mut loads = Vec::new();
    for t in &tables {
        for p in &t.partitions {
            if let (PartitionKind::M, Some(text)) = (p.kind, &p.query) {
                loads.push((queries.len(), (t.name.clone(), p.name.clone())));
                queries.push(m::parse_expression(&format!("{}/{}", t.name, p.name), text));
                names.push(t.name.clone());
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
    let analysis = m::analyse(&queries);
    let source_uses = source_uses(&queries, &names, &loads, &analysis.calls);
    Model {
        source,
        tables,
        parameters,
        data_sources: analysis.sources,
        unresolved_sources: analysis.unresolved,
        source_uses,
        expressions,
        relationships: None,
        abf: None,
    }
}

/// What a legacy `Section1.m` says (for a model whose own rows hold no M).
pub(crate) struct SectionFacts {
    pub parameters: Vec<Parameter>,
    pub data_sources: Vec<DataSource>,
    /// See [`Model::unresolved_sources`].
    pub unresolved_sources: Vec<String>,
    pub source_uses: Vec<SourceUse>,
}

/// Parameters, data sources and their uses of a legacy `Section1.m`; `loaded` names the
/// members loaded as tables (table, partition), the others are shared queries.
pub(crate) fn from_section(section: &str, loaded: &[(String, String)]) -> SectionFacts {
    let queries = m::parse_section(section);
    let names: Vec<String> = queries.iter().map(|q| q.name.clone()).collect();
    let member: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let loads: Vec<(usize, (String, String))> = loaded
        .iter()
        .filter_map(|(table, partition)| {
            let q = *member.get(table.as_str())?;
            Some((q, (table.clone(), partition.clone())))
        })
        .collect();
    let analysis = m::analyse(&queries);
    SectionFacts {
        parameters: m::parameters(&queries),
        source_uses: source_uses(&queries, &names, &loads, &analysis.calls),
        data_sources: analysis.sources,
        unresolved_sources: analysis.unresolved,
    }
}

/// Which tables use each source: for each loaded query (`loads`: query index, table and
/// partition), the calls in it and in every query it names, followed through names
/// (`names[i]` is how M refers to query `i`: an expression's name, a partition's table);
/// then the calls in queries no table reaches. A name bound by a `let` that shadows a query
/// counts as a reference to it **[inferred]**: it can only add a use, never hide one.
fn source_uses(
    queries: &[Query],
    names: &[String],
    loads: &[(usize, (String, String))],
    calls: &[SourceCall],
) -> Vec<SourceUse> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        by_name.entry(n.as_str()).or_default().push(i);
    }
    let refs: Vec<Vec<usize>> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let named: HashSet<&str> = q
                .tokens
                .iter()
                .filter_map(|t| match t {
                    m::Tok::Ident(name) => Some(name.as_str()),
                    _ => None,
                })
                .collect();
            let mut out: Vec<usize> = named
                .into_iter()
                .filter_map(|name| by_name.get(name))
                .flatten()
                .copied()
                .filter(|&r| r != i)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect();
    let mut calls_in: Vec<Vec<&SourceCall>> = vec![Vec::new(); queries.len()];
    for c in calls {
        calls_in[c.query].push(c);
    }
    let mut uses = Uses::default();
    let mut reached = vec![false; queries.len()];
    // `seen[q] == n`: query `q` was visited from the n-th load (no clearing between loads).
    let mut seen = vec![usize::MAX; queries.len()];
    let mut steps = 0usize;
    for (n, (start, table)) in loads.iter().enumerate() {
        let mut stack = vec![*start];
        seen[*start] = n;
        while let Some(q) = stack.pop() {
            reached[q] = true;
            let via = (q != *start).then(|| names[q].as_str());
            uses.add(&calls_in[q], Some(table), via);
            for &r in &refs[q] {
                steps += 1;
                if seen[r] != n && steps <= MAX_REFERENCE_STEPS {
                    seen[r] = n;
                    stack.push(r);
                }
            }
        }
    }
    for (q, _) in reached.iter().enumerate().filter(|(_, r)| !**r) {
        uses.add(&calls_in[q], None, Some(&names[q]));
    }
    uses.list
}

/// Uses in order of discovery, each once.
#[derive(Default)]
struct Uses {
    list: Vec<SourceUse>,
    seen: HashSet<SourceUse>,
}

impl Uses {
    fn add(&mut self, calls: &[&SourceCall], table: Option<&(String, String)>, via: Option<&str>) {
        for c in calls {
            let use_ = SourceUse {
                source: c.source,
                table: table.cloned(),
                via: via.map(str::to_owned),
                wrapped_in: c.wrapped_in.clone(),
            };
            if self.seen.insert(use_.clone()) {
                self.list.push(use_);
            }
        }
    }
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

    fn m_table(name: &str, m: &str) -> Table {
        let partition = crate::model::Partition {
            name: format!("{name}-p"),
            kind: PartitionKind::M,
            mode: crate::model::StorageMode::Import,
            query: Some(m.into()),
        };
        Table::new(name.into(), vec![partition])
    }

    /// One source, its uses: in a partition's own M (with the function reading it), through
    /// a shared query, through another table, and in a shared query no table names.
    #[test]
    fn each_source_lists_the_tables_that_reach_it() {
        let url = r#"Web.Contents("https://x/book.xlsx")"#;
        let model = model(
            ModelSource::DataModelSchema,
            vec![
                m_table(
                    "A",
                    &format!("let S = Excel.Workbook({url}, null, true) in S"),
                ),
                m_table("B", "let S = #\"Shared Book\" in S"),
                m_table("C", "Table.Combine({A, B})"),
                m_table("D", "#table({}, {})"),
            ],
            vec![
                expr("Shared Book", &format!("Csv.Document({url})")),
                expr("Unused", r#"Sql.Database("s", "d")"#),
            ],
        );
        assert_eq!(model.data_sources.len(), 2);
        type Row<'a> = (usize, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let uses: Vec<Row> = model
            .source_uses
            .iter()
            .map(|u| {
                (
                    u.source,
                    u.table.as_ref().map(|(t, _)| t.as_str()),
                    u.via.as_deref(),
                    u.wrapped_in.as_deref(),
                )
            })
            .collect();
        let web = 0;
        for want in [
            (web, Some("A"), None, Some("Excel.Workbook")),
            (web, Some("B"), Some("Shared Book"), Some("Csv.Document")),
            (web, Some("C"), Some("A"), Some("Excel.Workbook")),
            (web, Some("C"), Some("Shared Book"), Some("Csv.Document")),
            (1, None, Some("Unused"), None),
        ] {
            assert!(uses.contains(&want), "{want:?} not in {uses:?}");
        }
        assert_eq!(uses.len(), 5, "{uses:?}");
        assert!(uses.iter().all(|u| u.1 != Some("D")));
        assert_eq!(model.source_uses[0].table, Some(("A".into(), "A-p".into())));
    }
}
