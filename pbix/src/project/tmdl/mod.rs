//! A TMDL semantic model (`definition/**/*.tmdl`) into the crate's [`Model`]: tables with
//! their columns, measures and partitions (mode and source), named expressions, and through
//! the shared derivation ([`crate::derive`]) the M parameters and data sources, exactly as
//! for a PBIX.
//!
//! What is read: `model` (`defaultMode`, `ref table` order), `table` (`column`, `measure`,
//! `partition` with `mode:` and `source =`), `expression` (with `kind:` when not M),
//! `relationship` (counted). What is refused, naming the line: a top-level object type or a
//! named object inside a table this reader does not know (a typo there would silently drop
//! a table or a column), a partition with an unknown source type or mode, an M, query or
//! calculated partition without `source =`, a measure without expression, duplicate table,
//! column or measure names, a `ref table` to a table no file defines.
//!
//! Kept without being interpreted (safe to skip: they change neither tables, columns,
//! partitions nor sources): every property (`lineageTag`, `dataType` aside, `summarizeBy`,
//! `formatString`, `isHidden`, ...), `annotation`, `extendedProperty`, `changedProperty`,
//! `hierarchy`/`level`, `calculationGroup`/`calculationItem`, `variation`, and the top-level
//! `database`, `cultureInfo`, `role`, `perspective`, `dataSource`, `queryGroup`, `function`
//! and `calendar` objects.

mod lexer;
pub(crate) mod parser;

use std::collections::BTreeSet;

use super::Definition;
use super::error::{Position, ProjectError, utf8};
use super::read::is_tmdl_path;
use crate::Limits;
use crate::model::{
    Column, ColumnKind, Expression, Measure, Model, ModelSource, Partition, PartitionKind,
    StorageMode, Table,
};
use parser::Node;

/// Object types a TMDL file may declare at its top level.
const TOP_LEVEL: &[&str] = &[
    "database",
    "model",
    "table",
    "relationship",
    "expression",
    "cultureInfo",
    "role",
    "perspective",
    "dataSource",
    "queryGroup",
    "function",
    "calendar",
    "annotation",
    "extendedProperty",
];

/// Named objects a table may hold.
const TABLE_CHILDREN: &[&str] = &[
    "column",
    "measure",
    "partition",
    "hierarchy",
    "annotation",
    "extendedProperty",
    "changedProperty",
    "calculationGroup",
    "calendar",
];

/// A parsed TMDL part: its path and top-level nodes.
pub(crate) struct Document {
    pub path: String,
    pub nodes: Vec<Node>,
}

/// Parses every TMDL part of the definition, in path order, within the line cap.
pub(crate) fn documents(def: &Definition, limits: &Limits) -> Result<Vec<Document>, ProjectError> {
    let mut lines_left = limits.max_tmdl_lines;
    let mut out = Vec::new();
    for p in def.parts.iter().filter(|p| is_tmdl_path(&p.path)) {
        let text = utf8(&p.path, &p.bytes)?;
        let too_many = || ProjectError::TooManyLines {
            path: p.path.clone(),
            limit: limits.max_tmdl_lines,
        };
        // Counted before the lines are split: the cap bounds the memory they take.
        let count = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
        lines_left = lines_left.checked_sub(count).ok_or_else(too_many)?;
        let lines = lexer::lines(&p.path, text, limits.max_tmdl_line_bytes)?;
        let nodes = parser::parse(&p.path, &lines, limits.max_tmdl_depth)?;
        out.push(Document {
            path: p.path.clone(),
            nodes,
        });
    }
    Ok(out)
}

/// The model of a TMDL definition.
pub(crate) fn model(def: &Definition, limits: &Limits) -> Result<Model, ProjectError> {
    let docs = documents(def, limits)?;
    let mut default_mode = None;
    let mut order: Vec<String> = Vec::new();
    let mut tables: Vec<(Table, String, Position)> = Vec::new();
    let mut expressions = Vec::new();
    let mut relationships = 0;
    for doc in &docs {
        for node in &doc.nodes {
            if !TOP_LEVEL.contains(&node.keyword.as_str()) {
                return Err(unknown(
                    &doc.path,
                    node,
                    "at the top level of a TMDL file",
                    TOP_LEVEL,
                ));
            }
            match node.keyword.as_str() {
                "model" => {
                    check_spelling(&doc.path, node, &["defaultMode"])?;
                    if let Some(mode) = node.property("defaultMode") {
                        default_mode = Some(mode_of(&doc.path, node, mode)?);
                    }
                    order.extend(
                        node.children
                            .iter()
                            .filter(|c| c.reference && c.keyword == "table")
                            .filter_map(|c| c.name.clone()),
                    );
                }
                "table" if node.reference => order.extend(node.name.clone()),
                "table" => {
                    tables.push((table(&doc.path, node)?, doc.path.clone(), node.at));
                }
                "expression" => {
                    let e = expression(&doc.path, node)?;
                    if expressions.iter().any(|x: &Expression| x.name == e.name) {
                        return Err(ProjectError::syntax(
                            &doc.path,
                            node.at,
                            format!("expression `{}` is defined twice; keep one", e.name),
                        ));
                    }
                    expressions.push(e);
                }
                "relationship" => relationships += 1,
                _ => {}
            }
        }
    }
    let tables = order_tables(tables, &order, &docs)?;
    let tables = tables
        .into_iter()
        .map(|mut t| {
            for p in &mut t.partitions {
                p.mode = p.mode.resolve(default_mode);
            }
            t
        })
        .collect();
    let mut out = crate::derive::model(ModelSource::DataModelSchema, tables, expressions);
    out.relationships = Some(relationships);
    Ok(out)
}

/// Tables in `model.tmdl`'s `ref table` order, the others after in path order; duplicates
/// and dangling references refused.
fn order_tables(
    tables: Vec<(Table, String, Position)>,
    order: &[String],
    docs: &[Document],
) -> Result<Vec<Table>, ProjectError> {
    let mut seen = BTreeSet::new();
    for (t, path, at) in &tables {
        if !seen.insert(t.name.as_str()) {
            return Err(ProjectError::syntax(
                path,
                *at,
                format!(
                    "table `{}` is defined twice; each table lives in one file, once",
                    t.name
                ),
            ));
        }
    }
    if let Some(missing) = order.iter().find(|n| !seen.contains(n.as_str())) {
        let path = docs
            .iter()
            .find(|d| d.nodes.iter().any(|n| n.keyword == "model"))
            .map_or("definition/model.tmdl", |d| d.path.as_str());
        return Err(ProjectError::invalid(
            path,
            format!(
                "`ref table {missing}` names a table no TMDL file defines; add `definition/tables/{missing}.tmdl` or remove the reference"
            ),
        ));
    }
    let mut tables: Vec<Option<Table>> = tables.into_iter().map(|(t, _, _)| Some(t)).collect();
    let mut out = Vec::with_capacity(tables.len());
    for name in order {
        if let Some(slot) = tables
            .iter_mut()
            .find(|t| t.as_ref().is_some_and(|t| &t.name == name))
        {
            out.extend(slot.take());
        }
    }
    out.extend(tables.into_iter().flatten());
    Ok(out)
}

/// An error for an object type this reader does not know where it matters.
fn unknown(path: &str, node: &Node, place: &str, known: &[&str]) -> ProjectError {
    ProjectError::syntax(
        path,
        node.at,
        format!(
            "unknown object type `{}` {place}; expected one of: {} (check the spelling)",
            node.keyword,
            known.join(", ")
        ),
    )
}

/// A named object's name, or an error saying it needs one.
fn name_of(path: &str, node: &Node) -> Result<String, ProjectError> {
    node.name.clone().ok_or_else(|| {
        ProjectError::syntax(
            path,
            node.at,
            format!("`{}` needs a name: `{} 'Name'`", node.keyword, node.keyword),
        )
    })
}

/// Refuses a property that matters spelled in another case (`Mode: import` would otherwise
/// be kept as an unknown property and the mode silently defaulted).
fn check_spelling(path: &str, node: &Node, keywords: &[&str]) -> Result<(), ProjectError> {
    for child in &node.children {
        if let Some(k) = keywords
            .iter()
            .find(|k| child.keyword.eq_ignore_ascii_case(k) && child.keyword != **k)
        {
            return Err(ProjectError::syntax(
                path,
                child.at,
                format!("`{}` is spelled `{k}` in TMDL", child.keyword),
            ));
        }
    }
    Ok(())
}

fn table(path: &str, node: &Node) -> Result<Table, ProjectError> {
    let name = name_of(path, node)?;
    let mut t = Table::new(name.clone(), Vec::new());
    let mut names = BTreeSet::new();
    for child in &node.children {
        let keyword = child.keyword.as_str();
        if child.name.is_none() {
            continue; // a property or flag of the table
        }
        if !TABLE_CHILDREN.contains(&keyword) {
            return Err(unknown(
                path,
                child,
                &format!("in table `{name}`"),
                TABLE_CHILDREN,
            ));
        }
        let child_name = name_of(path, child)?;
        if matches!(keyword, "column" | "measure" | "partition")
            && !names.insert((keyword, child_name.clone()))
        {
            return Err(ProjectError::syntax(
                path,
                child.at,
                format!(
                    "{keyword} `{child_name}` appears twice in table `{name}`; rename or remove one"
                ),
            ));
        }
        check_spelling(path, child, &["mode", "source", "dataType"])?;
        match keyword {
            "column" => t.columns.push(Column {
                name: child_name,
                data_type: child.property("dataType").unwrap_or_default().to_string(),
                kind: if child.expr().is_some() {
                    ColumnKind::Calculated
                } else {
                    ColumnKind::Data
                },
            }),
            "measure" => {
                let Some(e) = child.expr() else {
                    return Err(ProjectError::syntax(
                        path,
                        child.at,
                        format!(
                            "measure `{child_name}` has no expression; write `measure '{child_name}' = <DAX>`"
                        ),
                    ));
                };
                t.measures.push(Measure {
                    name: child_name,
                    expression: e.text.clone(),
                });
            }
            "partition" => t.partitions.push(partition(path, child, child_name)?),
            _ => {}
        }
    }
    Ok(t)
}

fn partition(path: &str, node: &Node, name: String) -> Result<Partition, ProjectError> {
    let kind_text = node.expr().map(|e| e.text.trim()).unwrap_or_default();
    let kind = match kind_text {
        "m" => PartitionKind::M,
        "query" => PartitionKind::Query,
        "calculated" => PartitionKind::Calculated,
        "policyRange" => PartitionKind::PolicyRange,
        "calculationGroup" => PartitionKind::CalculationGroup,
        "entity" | "inferred" | "parquet" | "none" => PartitionKind::Other,
        _ => {
            return Err(ProjectError::syntax(
                path,
                node.at,
                format!(
                    "partition `{name}` has source type `{kind_text}`; expected `partition '{name}' = m` (or calculated, query, entity, policyRange, calculationGroup)"
                ),
            ));
        }
    };
    let mode = match node.property("mode") {
        Some(m) => mode_of(path, node.child("mode").unwrap_or(node), m)?,
        None => StorageMode::Default,
    };
    let query = node
        .child("source")
        .and_then(Node::expr)
        .map(|e| e.text.clone());
    if query.is_none()
        && matches!(
            kind,
            PartitionKind::M | PartitionKind::Query | PartitionKind::Calculated
        )
    {
        return Err(ProjectError::syntax(
            path,
            node.at,
            format!(
                "partition `{name}` has no `source =` expression; add it one level under the partition, its M (or DAX) indented below"
            ),
        ));
    }
    Ok(Partition {
        name,
        kind,
        mode,
        query,
    })
}

fn mode_of(path: &str, node: &Node, text: &str) -> Result<StorageMode, ProjectError> {
    match StorageMode::from_tmsl(text) {
        StorageMode::Unknown => Err(ProjectError::syntax(
            path,
            node.at,
            format!(
                "unknown storage mode `{text}`; expected import, directQuery, dual, directLake, push or default"
            ),
        )),
        mode => Ok(mode),
    }
}

fn expression(path: &str, node: &Node) -> Result<Expression, ProjectError> {
    let name = name_of(path, node)?;
    let Some(e) = node.expr() else {
        return Err(ProjectError::syntax(
            path,
            node.at,
            format!("expression `{name}` has no value; write `expression {name} = <M>`"),
        ));
    };
    Ok(Expression {
        name,
        is_m: node
            .property("kind")
            .is_none_or(|k| k.eq_ignore_ascii_case("m")),
        text: e.text.clone(),
        description: node.description.clone(),
    })
}
