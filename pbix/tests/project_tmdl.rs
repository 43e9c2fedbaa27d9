//! The TMDL reader on hand-made snippets: the syntax it accepts (tabs or spaces, quoted
//! names, descriptions, multi-line and fenced expressions) and the loud errors, with part,
//! line and column, on what it refuses.

use pbix::project::{Definition, ItemKind, Part, ProjectError, semantic_model};
use pbix::{ColumnKind, Model, PartitionKind, StorageMode};

fn definition(files: &[(&str, &str)]) -> Definition {
    let mut parts = vec![Part {
        path: "definition.pbism".into(),
        bytes: br#"{"version":"4.0"}"#.to_vec(),
    }];
    parts.extend(files.iter().map(|(path, text)| Part {
        path: (*path).into(),
        bytes: text.as_bytes().to_vec(),
    }));
    Definition::from_parts(ItemKind::SemanticModel, parts).unwrap()
}

fn model(files: &[(&str, &str)]) -> Result<Model, ProjectError> {
    semantic_model(&definition(files))
}

fn table(text: &str) -> Result<Model, ProjectError> {
    model(&[("definition/tables/T.tmdl", text)])
}

fn error(text: &str) -> String {
    table(text).expect_err("the snippet is refused").to_string()
}

const SQL_PARTITION: &str =
    "\tpartition P = m\n\t\tmode: import\n\t\tsource = Sql.Database(\"s\", \"d\")\n";

#[test]
fn quoted_names_descriptions_and_expressions() {
    let text = format!(
        "/// Sales facts\ntable 'Sales ''24'\n\t/// a measure\n\tmeasure 'A = B' = 1 +\n\t\t\t2\n\t\tformatString: 0\n\n\tmeasure Fenced = ```\n\t\t\tVAR x = 1\n\n\t\t\tRETURN x\n\t\t\t```\n\t\tisHidden\n\n\tcolumn 'Calc' =\n\t\t\t[A = B] * 2\n\t\tdataType: double\n{SQL_PARTITION}"
    );
    let m = table(&text).unwrap();
    let t = &m.tables[0];
    assert_eq!(t.name, "Sales '24");
    let measures: Vec<(&str, &str)> = t
        .measures
        .iter()
        .map(|m| (m.name.as_str(), m.expression.as_str()))
        .collect();
    assert_eq!(
        measures,
        [("A = B", "1 +\n2"), ("Fenced", "VAR x = 1\n\nRETURN x")]
    );
    assert_eq!(t.columns[0].kind, ColumnKind::Calculated);
    assert_eq!(t.columns[0].data_type, "double");
    assert_eq!(
        t.partitions[0].query.as_deref(),
        Some("Sql.Database(\"s\", \"d\")")
    );
    assert_eq!(m.data_sources[0].connection_details["server"], "s");
}

#[test]
fn space_indentation_as_in_microsofts_documentation() {
    let text = "table Sales\n    \n    partition 'Sales-Partition' = m\n        mode: directQuery\n        source = \n            let\n                Source = Sql.Database(\"srv\", \"db\")\n            in\n                Source\n    \n    measure 'Sales Amount' = SUMX('Sales', 'Sales'[Quantity] * 'Sales'[Net Price])\n        formatString: $ #,##0\n   \n    column 'Product Key'\n        dataType: int64\n        isHidden\n        sourceColumn: ProductKey\n        summarizeBy: None\n";
    let m = table(text).unwrap();
    let t = &m.tables[0];
    let p = &t.partitions[0];
    assert_eq!(
        (p.kind, p.mode),
        (PartitionKind::M, StorageMode::DirectQuery)
    );
    assert_eq!(
        p.query.as_deref(),
        Some("let\n    Source = Sql.Database(\"srv\", \"db\")\nin\n    Source")
    );
    assert_eq!(t.measures[0].name, "Sales Amount");
    assert_eq!(t.columns[0].name, "Product Key");
    assert_eq!(m.data_sources[0].connection_details["database"], "db");
}

#[test]
fn crlf_line_ends_and_a_byte_order_mark_are_accepted() {
    let text = format!(
        "\u{feff}table T\r\n\tcolumn C\r\n\t\tdataType: string\r\n{}",
        SQL_PARTITION.replace('\n', "\r\n")
    );
    let m = table(&text).unwrap();
    assert_eq!(m.tables[0].columns[0].data_type, "string");
    assert_eq!(
        m.tables[0].partitions[0].query.as_deref(),
        Some("Sql.Database(\"s\", \"d\")")
    );
}

#[test]
fn default_mode_of_the_model_applies_to_partitions_without_mode() {
    let m = model(&[
        (
            "definition/model.tmdl",
            "model Model\n\tdefaultMode: directQuery\n\nref table T\n",
        ),
        (
            "definition/tables/T.tmdl",
            "table T\n\tpartition P = m\n\t\tsource = 1\n",
        ),
    ])
    .unwrap();
    assert_eq!(m.tables[0].partitions[0].mode, StorageMode::DirectQuery);
}

#[test]
fn errors_name_the_part_line_and_column() {
    let cases: &[(&str, &str)] = &[
        (
            "tabel T\n",
            "definition/tables/T.tmdl:1:1: unknown object type `tabel`",
        ),
        (
            "table T\n\tcolum C\n",
            "definition/tables/T.tmdl:2:2: unknown object type `colum` in table `T`",
        ),
        (
            "table T\n\t\tcolumn C\n",
            "definition/tables/T.tmdl:2:3: unexpected indentation",
        ),
        (
            "table 'T\n",
            "definition/tables/T.tmdl:1:7: the quoted name is not closed",
        ),
        (
            "table Sales Facts\n",
            "definition/tables/T.tmdl:1:13: expected `=` or the end of the line",
        ),
        (
            "table T\n\tmeasure M\n",
            "definition/tables/T.tmdl:2:2: measure `M` has no expression",
        ),
        (
            "table T\n\tmeasure M =\n\tcolumn C\n",
            "definition/tables/T.tmdl:2:13: expected an expression after `=`",
        ),
        (
            "table T\n\tmeasure M = ```\n\t\t\tx\n",
            "definition/tables/T.tmdl:2:14: the ``` block is not closed",
        ),
        (
            "table T\n\tpartition P = sql\n",
            "definition/tables/T.tmdl:2:2: partition `P` has source type `sql`",
        ),
        (
            "table T\n\tpartition P = m\n\t\tmode: imported\n\t\tsource = 1\n",
            "definition/tables/T.tmdl:3:3: unknown storage mode `imported`",
        ),
        (
            "table T\n\tpartition P = m\n\t\tmode: import\n",
            "definition/tables/T.tmdl:2:2: partition `P` has no `source =`",
        ),
        (
            "table T\n\tcolumn C\n\tcolumn C\n",
            "definition/tables/T.tmdl:3:2: column `C` appears twice in table `T`",
        ),
        (
            "table T\n\t/// dangling\n",
            "definition/tables/T.tmdl:2:2: a `///` description must be followed",
        ),
        (
            "table T\n\t(column C)\n",
            "definition/tables/T.tmdl:2:2: expected an object type",
        ),
        (
            "table T\n  column C\n    dataType: x\n   isHidden\n",
            "definition/tables/T.tmdl:4:4: indentation of 3 columns is not a whole number of levels",
        ),
    ];
    for (text, expected) in cases {
        let message = error(text);
        assert!(
            message.starts_with(expected),
            "{text:?}\n  gave {message}\n  expected {expected}"
        );
    }
}

#[test]
fn tables_defined_twice_or_referenced_but_missing_are_refused() {
    let twice = model(&[
        ("definition/tables/A.tmdl", "table T\n"),
        ("definition/tables/B.tmdl", "table T\n"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        twice.starts_with("definition/tables/B.tmdl:1:1: table `T` is defined twice"),
        "{twice}"
    );
    let dangling = model(&[("definition/model.tmdl", "model Model\n\nref table Gone\n")])
        .unwrap_err()
        .to_string();
    assert!(
        dangling.contains("`ref table Gone` names a table no TMDL file defines"),
        "{dangling}"
    );
}

#[test]
fn unknown_properties_and_objects_inside_known_ones_are_kept() {
    let text = format!(
        "table T\n\tsomeFutureFlag\n\tsomeFutureProperty: 42\n\tcolumn C\n\t\tfutureThing X = 1\n\t\t\tnested: y\n\t\tdataType: int64\n\thierarchy H\n\t\tlevel L\n\t\t\tcolumn: C\n{SQL_PARTITION}"
    );
    let m = table(&text).unwrap();
    assert_eq!(m.tables[0].columns.len(), 1);
    assert_eq!(m.tables[0].columns[0].data_type, "int64");
}

/// A Direct Lake model: an entity partition whose `source` is an unnamed object with
/// properties, and the shared expression it reads through.
#[test]
fn direct_lake_entity_partitions_read() {
    let m = model(&[
        (
            "definition/expressions.tmdl",
            "expression DatabaseQuery =\n\t\tlet\n\t\t    database = Sql.Database(\"abc.datawarehouse.fabric.microsoft.com\", \"5f0c\")\n\t\tin\n\t\t    database\n\tlineageTag: 1\n",
        ),
        (
            "definition/tables/Sales.tmdl",
            "table Sales\n\tcolumn Amount\n\t\tdataType: double\n\t\tsourceColumn: amount\n\n\tpartition Sales = entity\n\t\tmode: directLake\n\t\tsource\n\t\t\tentityName: sales\n\t\t\tschemaName: dbo\n\t\t\texpressionSource: DatabaseQuery\n",
        ),
    ])
    .unwrap();
    let p = &m.tables[0].partitions[0];
    assert_eq!(
        (p.kind, p.mode, p.query.as_deref()),
        (PartitionKind::Other, StorageMode::DirectLake, None)
    );
    assert_eq!(m.storage_mode(), pbix::DatasetMode::DirectQuery);
    assert_eq!(m.data_sources[0].connection_details["database"], "5f0c");
    assert!(m.parameters.is_empty());
}
