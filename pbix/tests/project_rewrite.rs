//! Rewriting PBIP definitions: parameter values (TMDL and model.bim), report binding, and
//! comparing versions (data loss, unified diffs), on the hand-written fixtures in
//! `manifests/pbip/`.

use std::collections::BTreeMap;
use std::path::Path;

use pbix::Limits;
use pbix::project::{
    Definition, ItemKind, Part, PartStatus, ProjectError, ReportBinding, bind_report, data_loss,
    diff, report_binding, semantic_model, set_parameters,
};

fn fixture(item: &str) -> Definition {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../manifests/pbip")
        .join(item);
    Definition::read_dir(&dir, &Limits::default()).unwrap()
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

fn text(def: &Definition, path: &str) -> String {
    String::from_utf8(def.part(path).unwrap().bytes.clone()).unwrap()
}

fn with_part(def: &Definition, path: &str, bytes: &str) -> Definition {
    let mut parts = def.parts.clone();
    parts.retain(|p| p.path != path);
    parts.push(Part {
        path: path.into(),
        bytes: bytes.as_bytes().to_vec(),
    });
    Definition::from_parts(def.kind, parts).unwrap()
}

#[test]
fn parameters_are_written_before_their_meta_and_nothing_else_changes() {
    let def = fixture("Sales.SemanticModel");
    let before = text(&def, "definition/expressions.tmdl");
    let set = set_parameters(
        &def,
        &values(&[("Server", "sql02.contoso.test"), ("Database", "SalesProd")]),
    )
    .unwrap();
    let after = text(&set, "definition/expressions.tmdl");
    let expected = before
        .replace(
            "= \"sql01.contoso.test\" meta",
            "= \"sql02.contoso.test\" meta",
        )
        .replace("= \"SalesDev\" meta", "= \"SalesProd\" meta");
    assert_eq!(after, expected);
    for p in &def.parts {
        if p.path != "definition/expressions.tmdl" {
            assert_eq!(set.part(&p.path).unwrap().bytes, p.bytes, "{}", p.path);
        }
    }
    let model = semantic_model(&set).unwrap();
    assert_eq!(model.parameters[0].current_value, "sql02.contoso.test");
    assert_eq!(
        model.data_sources[0].connection_details["server"],
        "sql02.contoso.test"
    );
    assert_eq!(
        model.data_sources[0].connection_details["database"],
        "SalesProd"
    );
    assert_ne!(set.sha256(), def.sha256());
    let again = set_parameters(
        &set,
        &values(&[("Server", "sql02.contoso.test"), ("Database", "SalesProd")]),
    )
    .unwrap();
    assert_eq!(again, set, "idempotent");
    assert_eq!(again.sha256(), set.sha256());
}

#[test]
fn unknown_names_and_values_outside_the_list_or_type_are_refused() {
    let def = fixture("Sales.SemanticModel");
    let err = set_parameters(&def, &values(&[("server", "x")])).unwrap_err();
    assert!(
        matches!(err, ProjectError::UnknownParameter { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("parameters: Server, Database"),
        "{err}"
    );
    let err = set_parameters(&def, &values(&[("Database", "Other")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not one of the parameter's allowed values (SalesDev, SalesTest, SalesProd)"),
        "{err}"
    );
}

#[test]
fn values_are_written_as_literals_of_the_parameter_type() {
    let exprs = "expression N = 1 meta [IsParameterQuery=true, Type=\"Number\", IsParameterQueryRequired=true]\n\nexpression B = false meta [IsParameterQuery=true, Type=\"Logical\", IsParameterQueryRequired=true]\n\nexpression D =\n\t\t#date(2020, 1, 1) meta [IsParameterQuery=true, Type=\"Date\", IsParameterQueryRequired=true]\n\t/// not a parameter\n\texpression_like: 1\n\nexpression T = \"x\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=false]\n";
    let def = with_part(
        &fixture("Web.SemanticModel"),
        "definition/expressions.tmdl",
        exprs,
    );
    let set = set_parameters(
        &def,
        &values(&[
            ("N", "-2.5"),
            ("B", "TRUE"),
            ("D", "2024-02-29"),
            ("T", "say \"hi\"\n#(x)"),
        ]),
    )
    .unwrap();
    let after = text(&set, "definition/expressions.tmdl");
    assert!(
        after.starts_with("expression N = -2.5 meta [IsParameterQuery=true, Type=\"Number\""),
        "{after}"
    );
    assert!(after.contains("expression B = true meta ["), "{after}");
    assert!(
        after.contains("\n\t\t#date(2024, 2, 29) meta [IsParameterQuery=true, Type=\"Date\""),
        "{after}"
    );
    assert!(
        after.contains("expression T = \"say \"\"hi\"\"#(lf)#(#)(x)\" meta ["),
        "{after}"
    );
    let model = semantic_model(&set).unwrap();
    let t = model.parameters.iter().find(|p| p.name == "T").unwrap();
    assert_eq!(t.current_value, "say \"hi\"\n#(x)");
    for (name, bad) in [("N", "1,5"), ("B", "yes"), ("D", "2023-02-29")] {
        let err = set_parameters(&def, &values(&[(name, bad)])).unwrap_err();
        assert!(
            matches!(err, ProjectError::BadParameterValue { .. }),
            "{name}: {err}"
        );
    }
}

/// The Web model as `model.bim`: TMSL with one expression as a string, one as an array of
/// lines.
const WEB_BIM: &str = r#"{
  "name": "Web",
  "compatibilityLevel": 1567,
  "model": {
    "culture": "en-US",
    "tables": [
      {
        "name": "Rates",
        "columns": [
          {"name": "Currency", "dataType": "string", "sourceColumn": "Currency"},
          {"name": "Rate", "dataType": "double", "sourceColumn": "Rate"}
        ],
        "measures": [{"name": "Average Rate", "expression": "AVERAGE(Rates[Rate])"}],
        "partitions": [
          {
            "name": "Rates",
            "mode": "import",
            "source": {
              "type": "m",
              "expression": [
                "let",
                "    Source = Json.Document(Web.Contents(BaseUrl & \"rates.json\")),",
                "    Rates = Table.FromRecords(Source[rates]),",
                "    Typed = Table.TransformColumnTypes(Rates, {{\"Currency\", type text}, {\"Rate\", type number}})",
                "in",
                "    Typed"
              ]
            }
          }
        ]
      }
    ],
    "expressions": [
      {"name": "BaseUrl", "kind": "m", "expression": "\"https://rates.example.com/api/\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]"},
      {"name": "Days", "kind": "m", "expression": [
        "// how far back",
        "7 meta [IsParameterQuery=true, Type=\"Number\", IsParameterQueryRequired=true]"
      ]}
    ]
  }
}
"#;

fn web_bim() -> Definition {
    let tmdl = fixture("Web.SemanticModel");
    let mut parts: Vec<Part> = tmdl
        .parts
        .into_iter()
        .filter(|p| !p.path.starts_with("definition/"))
        .collect();
    parts.push(Part {
        path: "model.bim".into(),
        bytes: WEB_BIM.as_bytes().to_vec(),
    });
    Definition::from_parts(ItemKind::SemanticModel, parts).unwrap()
}

#[test]
fn model_bim_reads_into_the_same_model_as_tmdl() {
    let bim = semantic_model(&web_bim()).unwrap();
    let tmdl = semantic_model(&fixture("Web.SemanticModel")).unwrap();
    assert_eq!(bim.tables, tmdl.tables);
    assert_eq!(bim.data_sources, tmdl.data_sources);
    assert_eq!(bim.parameters[0], tmdl.parameters[0]);
    assert_eq!(bim.parameters[1].current_value, "7");
}

#[test]
fn model_bim_parameters_are_edited_in_place() {
    let def = web_bim();
    let set = set_parameters(
        &def,
        &values(&[("BaseUrl", "https://rates.example.org/v2/"), ("Days", "30")]),
    )
    .unwrap();
    let expected = WEB_BIM
        .replace(
            r#""expression": "\"https://rates.example.com/api/\" meta"#,
            r#""expression": "\"https://rates.example.org/v2/\" meta"#,
        )
        .replace(
            r#""7 meta [IsParameterQuery=true"#,
            r#""30 meta [IsParameterQuery=true"#,
        );
    assert_ne!(expected, WEB_BIM);
    assert_eq!(text(&set, "model.bim"), expected);
    let model = semantic_model(&set).unwrap();
    assert_eq!(
        model.data_sources[0].connection_details["url"],
        "https://rates.example.org/v2/rates.json"
    );
    assert_eq!(
        set_parameters(&set, &values(&[("Days", "30")])).unwrap(),
        set
    );
}

#[test]
fn reports_are_bound_by_connection_in_the_form_of_their_schema() {
    let report = fixture("Sales.Report");
    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let bound = bind_report(&report, id).unwrap();
    assert_eq!(
        text(&bound, "definition.pbir"),
        format!(
            "{{\n  \"$schema\": \"https://developer.microsoft.com/json-schemas/fabric/item/report/definitionProperties/2.0.0/schema.json\",\n  \"version\": \"4.0\",\n  \"datasetReference\": {{\n    \"byConnection\": {{\n      \"connectionString\": \"semanticmodelid={id}\"\n    }}\n  }}\n}}\n"
        )
    );
    assert_eq!(text(&bound, "report.json"), text(&report, "report.json"));
    assert_eq!(bind_report(&bound, id).unwrap(), bound);
    match report_binding(&bound).unwrap() {
        ReportBinding::ByConnection { model_id, .. } => assert_eq!(model_id.as_deref(), Some(id)),
        other => panic!("{other:?}"),
    }
    let legacy = with_part(
        &report,
        "definition.pbir",
        "{\"$schema\": \"https://developer.microsoft.com/json-schemas/fabric/item/report/definitionProperties/1.0.0/schema.json\", \"version\": \"1.0\", \"datasetReference\": {\"byPath\": {\"path\": \"../Sales.SemanticModel\"}}}",
    );
    let bound = bind_report(&legacy, id).unwrap();
    let pbir: serde_json::Value =
        serde_json::from_slice(&bound.part("definition.pbir").unwrap().bytes).unwrap();
    let conn = &pbir["datasetReference"]["byConnection"];
    assert_eq!(conn["pbiModelDatabaseName"], id);
    assert_eq!(conn["connectionType"], "pbiServiceXmlaStyleLive");
    assert!(conn["connectionString"].is_null());
    assert_eq!(pbir["version"], "1.0");
    match report_binding(&bound).unwrap() {
        ReportBinding::ByConnection { model_id, .. } => assert_eq!(model_id.as_deref(), Some(id)),
        other => panic!("{other:?}"),
    }
    assert!(bind_report(&report, "x;initial catalog=evil").is_err());
    assert!(bind_report(&fixture("Sales.SemanticModel"), id).is_err());
}

#[test]
fn a_measure_edit_diffs_as_that_measure_only() {
    let old = fixture("Sales.SemanticModel");
    let sales = text(&old, "definition/tables/Sales.tmdl");
    let new = with_part(
        &old,
        "definition/tables/Sales.tmdl",
        &sales.replace("SUM(Sales[Amount])", "SUMX(Sales, Sales[Amount])"),
    );
    let diffs = diff(&old, &new, 1);
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].path, "definition/tables/Sales.tmdl");
    assert_eq!(diffs[0].status, PartStatus::Changed);
    let changed: Vec<&str> = diffs[0]
        .diff
        .lines()
        .filter(|l| l.starts_with(['+', '-']))
        .collect();
    assert_eq!(
        changed,
        [
            "--- a/definition/tables/Sales.tmdl",
            "+++ b/definition/tables/Sales.tmdl",
            "-\tmeasure 'Total Amount' = SUM(Sales[Amount])",
            "+\tmeasure 'Total Amount' = SUMX(Sales, Sales[Amount])",
        ]
    );
    assert!(diff(&old, &old, 3).is_empty());
}

#[test]
fn a_visual_move_diffs_as_readable_json_and_parts_added_or_removed_are_listed() {
    let old = fixture("Sales.Report");
    let report = text(&old, "report.json");
    let moved = report.replace(r#"\"position\":{\"x\":40"#, r#"\"position\":{\"x\":80"#);
    assert_ne!(moved, report);
    let mut new = with_part(&old, "report.json", &moved);
    new = with_part(
        &new,
        "StaticResources/RegisteredResources/logo.png",
        "\u{0}\u{ff}",
    );
    let diffs = diff(&old, &new, 0);
    let summary: Vec<(&str, PartStatus)> =
        diffs.iter().map(|d| (d.path.as_str(), d.status)).collect();
    assert_eq!(
        summary,
        [
            (
                "StaticResources/RegisteredResources/logo.png",
                PartStatus::Added
            ),
            ("report.json", PartStatus::Changed)
        ]
    );
    let changed: Vec<&str> = diffs[1]
        .diff
        .lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(changed.len(), 2, "{}", diffs[1].diff);
    let squeezed: Vec<String> = changed
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(squeezed, ["-\"x\":40,", "+\"x\":80,"]);
    let removed = diff(&new, &old, 3);
    assert_eq!(removed[0].status, PartStatus::Removed);
}

#[test]
fn data_loss_lists_removed_import_tables_and_data_columns_only() {
    let old_def = fixture("Sales.SemanticModel");
    let old = semantic_model(&old_def).unwrap();
    let customer = text(&old_def, "definition/tables/Customer.tmdl");
    let sales = text(&old_def, "definition/tables/Sales.tmdl");
    // Customer is Import: dropping a column loses data. Sales is DirectQuery: nothing lost.
    let no_name = customer.replace(
        "\tcolumn 'Customer Name'\n\t\tdataType: string\n",
        "\tcolumn 'Renamed'\n\t\tdataType: string\n",
    );
    let no_amount = sales.replace("\tcolumn Amount\n", "\tcolumn Amount2\n");
    let new_def = with_part(
        &with_part(&old_def, "definition/tables/Customer.tmdl", &no_name),
        "definition/tables/Sales.tmdl",
        &no_amount,
    );
    let loss = data_loss(&old, &semantic_model(&new_def).unwrap());
    assert_eq!(loss.len(), 1, "{loss:?}");
    assert_eq!(
        loss[0].to_string(),
        "column `Customer Name` of table `Customer` is removed"
    );
    let mut without_customer = old.clone();
    without_customer.tables.retain(|t| t.name != "Customer");
    let loss = data_loss(&old, &without_customer);
    assert_eq!(loss.len(), 1);
    assert_eq!(loss[0].to_string(), "table `Customer` is removed");
    assert!(data_loss(&old, &old).is_empty());
}
