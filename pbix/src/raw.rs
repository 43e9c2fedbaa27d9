//! From the rows of `metadata.sqlitedb` (what [`crate::datamodel::read_data_model`] returns)
//! to the public [`Model`]: partitions grouped under their tables (engine-internal ones
//! left out), TOM codes turned into kinds and modes, `Default` modes resolved to the
//! model's, and parameters and data sources derived from the M by the shared analyser.

use crate::datamodel::RawModel;
use crate::model::{
    Column, ColumnKind, Expression, Measure, Model, ModelSource, Partition, PartitionKind,
    StorageMode, Table,
};

/// The public model of a decoded `DataModel`.
pub(crate) fn model(raw: RawModel) -> Model {
    let default_mode = raw.default_mode.map(StorageMode::from_tom);
    let mut tables: Vec<Table> = raw
        .tables
        .iter()
        .map(|t| Table::new(t.name.clone(), Vec::new()))
        .collect();
    for p in raw.partitions {
        let Some(kind) = PartitionKind::from_tom(p.kind) else {
            continue;
        };
        let partition = Partition {
            name: p.name,
            kind,
            mode: StorageMode::from_tom(p.mode).resolve(default_mode),
            query: p.query,
        };
        match tables.iter_mut().find(|t| t.name == p.table_name) {
            Some(t) => t.partitions.push(partition),
            None => tables.push(Table::new(p.table_name, vec![partition])),
        }
    }
    for c in raw.columns {
        let kind = match c.kind {
            2 => ColumnKind::Calculated,
            3 => continue, // the engine's RowNumber column
            _ => ColumnKind::Data,
        };
        if let Some(t) = tables.iter_mut().find(|t| t.name == c.table_name) {
            t.columns.push(Column {
                name: c.name,
                data_type: data_type_name(c.data_type).to_string(),
                kind,
            });
        }
    }
    for m in raw.measures {
        if let Some(t) = tables.iter_mut().find(|t| t.name == m.table_name) {
            t.measures.push(Measure {
                name: m.name,
                expression: m.expression,
            });
        }
    }
    let expressions = raw
        .expressions
        .into_iter()
        .map(|e| Expression {
            name: e.name,
            is_m: e.kind == 0,
            text: e.expression,
            description: e.description.filter(|d| !d.is_empty()),
        })
        .collect();
    let mut model = crate::derive::model(ModelSource::DataModel, tables, expressions);
    model.relationships = Some(raw.relationships);
    let hex: String = raw.abf_sha256.iter().map(|b| format!("{b:02x}")).collect();
    model.abf = Some((raw.abf_size, hex));
    model
}

/// TOM `DataType` code as TMSL/TMDL spell it (documented values of
/// `Microsoft.AnalysisServices.Tabular.DataType`).
fn data_type_name(code: i64) -> &'static str {
    match code {
        1 => "automatic",
        2 => "string",
        6 => "int64",
        8 => "double",
        9 => "dateTime",
        10 => "decimal",
        11 => "boolean",
        17 => "binary",
        20 => "variant",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datamodel::{RawExpression, RawPartition, RawTable};
    use crate::model::DatasetMode;
    use serde_json::json;

    /// A model of these rows (every field written out: the real reader's types have no
    /// `Default`).
    fn raw(tables: Vec<RawTable>, partitions: Vec<RawPartition>) -> RawModel {
        RawModel {
            abf_size: 0,
            abf_sha256: [0; 32],
            desktop_version: None,
            default_mode: None,
            tables,
            partitions,
            columns: Vec::new(),
            measures: Vec::new(),
            expressions: Vec::new(),
            data_sources: Vec::new(),
            relationships: 0,
        }
    }

    fn table(id: i64, name: &str) -> RawTable {
        RawTable {
            id,
            name: name.into(),
        }
    }

    fn partition(table: &str, kind: i64, mode: i64, query: &str) -> RawPartition {
        RawPartition {
            table_name: table.into(),
            name: format!("{table}-p"),
            kind,
            mode,
            query: Some(query.into()),
            data_source_id: None,
        }
    }

    /// Modelled on `Adventure Works, Internet Sales.pbix` in expected-models.json: M
    /// partitions reading an Excel file whose path is a parameter, a helper expression
    /// that is not a parameter, and one engine-internal partition.
    #[test]
    fn adventure_works_rows_give_the_file_parameter_and_source() {
        let path = r#""C:\Samples\AdventureWorksDW2017.xlsx" meta [IsParameterQuery=true, Type="Any", IsParameterQueryRequired=true]"#;
        let read = "let\n    Source = Excel.Workbook(File.Contents(#\"Adventure Works DW Excel Path\"), null, true),\n    T = Source{[Item=\"Internet_Sales\",Kind=\"Table\"]}[Data]\nin\n    T";
        let mut raw = raw(
            vec![table(1, "Internet Sales"), table(2, "Date")],
            vec![
                partition("Internet Sales", 4, 0, read),
                partition("Date", 2, 0, "CALENDARAUTO()"),
                partition("H$Internal", 3, 0, ""),
            ],
        );
        raw.abf_size = 6_815_744;
        raw.abf_sha256 = [0xab; 32];
        raw.desktop_version = Some("2.84.461.0 (20.08)".into());
        raw.relationships = 7;
        raw.expressions = vec![
            RawExpression {
                name: "Product Category".into(),
                kind: 0,
                expression: read.into(),
                description: None,
            },
            RawExpression {
                name: "Adventure Works DW Excel Path".into(),
                kind: 0,
                expression: path.into(),
                description: Some("Where the workbook lives".into()),
            },
        ];
        let model = model(raw);
        assert_eq!(model.source, ModelSource::DataModel);
        let names: Vec<_> = model.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["Internet Sales", "Date"],
            "engine partition left out"
        );
        assert_eq!(model.tables[0].partitions[0].kind, PartitionKind::M);
        assert_eq!(
            model.tables[1].partitions[0].kind,
            PartitionKind::Calculated
        );
        assert_eq!(model.parameters.len(), 1);
        let p = &model.parameters[0];
        assert_eq!(p.name, "Adventure Works DW Excel Path");
        assert_eq!(p.param_type, "Any");
        assert!(p.required);
        assert_eq!(p.current_value, r"C:\Samples\AdventureWorksDW2017.xlsx");
        assert_eq!(p.description.as_deref(), Some("Where the workbook lives"));
        assert_eq!(model.data_sources.len(), 1, "{:?}", model.data_sources);
        assert_eq!(model.data_sources[0].datasource_type, "File");
        assert_eq!(
            model.data_sources[0].connection_details["path"],
            json!(r"C:\Samples\AdventureWorksDW2017.xlsx")
        );
        assert!(model.data_sources[0].parameter_details.contains_key("path"));
        assert_eq!(model.relationships, Some(7));
        assert_eq!(model.abf.as_ref().map(|a| a.0), Some(6_815_744));
        assert_eq!(model.storage_mode(), DatasetMode::Import);
    }

    /// Modelled on `directquery-parameters.pbix`: native SQL partitions in DirectQuery.
    #[test]
    fn directquery_sql_partitions_make_a_directquery_dataset() {
        let raw = raw(
            vec![table(1, "DimDate"), table(2, "DimProduct")],
            vec![
                partition(
                    "DimDate",
                    1,
                    1,
                    "select [DateKey] from [dbo].[DimDate] as [$Table]",
                ),
                partition("DimProduct", 1, 1, "select 1"),
            ],
        );
        let model = model(raw);
        assert_eq!(model.tables[0].partitions[0].kind, PartitionKind::Query);
        assert_eq!(model.tables[0].partitions[0].mode, StorageMode::DirectQuery);
        assert_eq!(model.storage_mode(), DatasetMode::DirectQuery);
        assert!(model.data_sources.is_empty() && model.parameters.is_empty());
    }

    /// TOM ModeType: 2 is Default (inherits Model.DefaultMode), 4 is Dual.
    #[test]
    fn default_mode_is_inherited_and_dual_is_four() {
        let mut raw = raw(
            vec![table(1, "Fact"), table(2, "Dim"), table(3, "Rates")],
            vec![
                partition("Fact", 4, 2, "let S = Sql.Database(\"srv\", \"db\") in S"),
                partition("Dim", 4, 4, "let S = Sql.Database(\"srv\", \"db\") in S"),
                partition("Rates", 4, 0, "Web.Contents(\"https://rates.example.com\")"),
            ],
        );
        raw.default_mode = Some(1);
        let model = model(raw);
        let modes: Vec<_> = model.tables.iter().map(|t| t.partitions[0].mode).collect();
        assert_eq!(
            modes,
            [
                StorageMode::DirectQuery,
                StorageMode::Dual,
                StorageMode::Import
            ]
        );
        assert_eq!(model.storage_mode(), DatasetMode::Composite);
        let kinds: Vec<_> = model
            .data_sources
            .iter()
            .map(|d| d.datasource_type.as_str())
            .collect();
        assert_eq!(kinds, ["Sql", "Web"], "deduplicated, in order of use");
    }
}
