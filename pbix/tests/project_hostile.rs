//! Hostile Power BI Project items (they arrive in pull requests): symbolic links, special
//! and non-UTF-8 files, too many or too large files, deep folders, deep TMDL nesting and
//! huge lines are refused with a clear error, never followed, never a panic or a hang.

use std::path::Path;

use pbix::Limits;
use pbix::project::{
    Definition, ItemKind, Part, ProjectError, semantic_model, semantic_model_with,
};

fn model_dir(root: &Path, tables: &[(&str, &[u8])]) -> std::path::PathBuf {
    let dir = root.join("M.SemanticModel");
    std::fs::create_dir_all(dir.join("definition/tables")).unwrap();
    std::fs::write(dir.join("definition.pbism"), br#"{"version":"4.0"}"#).unwrap();
    for (name, bytes) in tables {
        std::fs::write(dir.join("definition/tables").join(name), bytes).unwrap();
    }
    dir
}

const TABLE: &[u8] = b"table T\n\tpartition P = m\n\t\tmode: import\n\t\tsource = 1\n";

#[test]
fn a_plain_folder_reads_and_the_editor_folder_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = model_dir(tmp.path(), &[("T.tmdl", TABLE)]);
    std::fs::create_dir_all(dir.join(".pbi")).unwrap();
    std::fs::write(dir.join(".pbi/localSettings.json"), b"{}").unwrap();
    let def = Definition::read_dir(&dir, &Limits::default()).unwrap();
    assert!(def.part(".pbi/localSettings.json").is_none());
    assert_eq!(def.parts.len(), 2);
    assert_eq!(semantic_model(&def).unwrap().tables[0].name, "T");
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_refused_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret.txt");
    std::fs::write(&secret, b"password").unwrap();
    let dir = model_dir(tmp.path(), &[("T.tmdl", TABLE)]);
    std::os::unix::fs::symlink(&secret, dir.join("definition/tables/U.tmdl")).unwrap();
    let err = Definition::read_dir(&dir, &Limits::default()).unwrap_err();
    assert!(
        matches!(&err, ProjectError::NotRegular { path } if path == "definition/tables/U.tmdl"),
        "{err}"
    );
    let linked = tmp.path().join("L.SemanticModel");
    std::os::unix::fs::symlink(&dir, &linked).unwrap();
    assert!(matches!(
        Definition::read_dir(&linked, &Limits::default()),
        Err(ProjectError::NotRegular { .. })
    ));
}

#[test]
fn too_many_files_too_large_parts_and_deep_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = model_dir(tmp.path(), &[("T.tmdl", TABLE), ("U.tmdl", b"table U\n")]);
    let few = Limits {
        max_project_files: 2,
        ..Limits::default()
    };
    assert!(matches!(
        Definition::read_dir(&dir, &few),
        Err(ProjectError::TooManyFiles { limit: 2 })
    ));
    let empty = tmp.path().join("E.SemanticModel");
    for i in 0..10 {
        std::fs::create_dir_all(empty.join(format!("d{i}"))).unwrap();
    }
    let five = Limits {
        max_project_files: 5,
        ..Limits::default()
    };
    assert!(
        matches!(
            Definition::read_dir(&empty, &five),
            Err(ProjectError::TooManyFiles { limit: 5 })
        ),
        "empty folders count against the cap"
    );
    let small = Limits {
        max_project_part_bytes: 20,
        ..Limits::default()
    };
    let err = Definition::read_dir(&dir, &small).unwrap_err();
    assert!(
        matches!(&err, ProjectError::PartTooLarge { path, limit: 20 } if path == "definition/tables/T.tmdl"),
        "{err}"
    );
    let total = Limits {
        max_project_total_bytes: 60,
        ..Limits::default()
    };
    assert!(matches!(
        Definition::read_dir(&dir, &total),
        Err(ProjectError::TotalTooLarge { limit: 60 })
    ));
    let mut deep = dir.join("definition");
    for i in 0..5 {
        deep = deep.join(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let shallow = Limits {
        max_project_dir_depth: 3,
        ..Limits::default()
    };
    assert!(matches!(
        Definition::read_dir(&dir, &shallow),
        Err(ProjectError::TooDeep { limit: 3, .. })
    ));
}

#[test]
fn a_folder_of_unknown_kind_or_missing_parts_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Sales");
    std::fs::create_dir_all(&dir).unwrap();
    let err = Definition::read_dir(&dir, &Limits::default()).unwrap_err();
    assert!(matches!(err, ProjectError::UnknownKind { .. }), "{err}");
    std::fs::write(
        dir.join(".platform"),
        br#"{"metadata":{"type":"SemanticModel"}}"#,
    )
    .unwrap();
    let err = Definition::read_dir(&dir, &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no `definition.pbism`"), "{err}");
    std::fs::write(dir.join("definition.pbism"), b"{}").unwrap();
    let err = Definition::read_dir(&dir, &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`model.bim` (TMSL) or a `definition/` folder"),
        "{err}"
    );
    std::fs::write(dir.join("model.bim"), br#"{"model":{}}"#).unwrap();
    std::fs::create_dir_all(dir.join("definition")).unwrap();
    std::fs::write(dir.join("definition/model.tmdl"), b"model Model\n").unwrap();
    let err = Definition::read_dir(&dir, &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("both `model.bim` and `definition/*.tmdl`"),
        "{err}"
    );
}

fn parts(extra: &str) -> Vec<Part> {
    vec![
        Part {
            path: "definition.pbism".into(),
            bytes: b"{}".to_vec(),
        },
        Part {
            path: extra.into(),
            bytes: TABLE.to_vec(),
        },
    ]
}

#[test]
fn unsafe_or_duplicate_part_paths_are_refused() {
    for bad in [
        "../definition/x.tmdl",
        "/definition/x.tmdl",
        "definition\\x.tmdl",
        "C:/x.tmdl",
        "definition//x.tmdl",
        "definition/./x.tmdl",
        "",
        "definition/x\n.tmdl",
    ] {
        let err = Definition::from_parts(ItemKind::SemanticModel, parts(bad)).unwrap_err();
        assert!(
            matches!(err, ProjectError::BadPath { .. }),
            "{bad:?}: {err}"
        );
    }
    let mut dup = parts("definition/T.tmdl");
    dup.push(Part {
        path: "Definition/t.tmdl".into(),
        bytes: Vec::new(),
    });
    let err = Definition::from_parts(ItemKind::SemanticModel, dup).unwrap_err();
    assert!(matches!(err, ProjectError::DuplicatePart { .. }), "{err}");
}

fn tmdl(text: Vec<u8>) -> Definition {
    let mut p = parts("definition/tables/T.tmdl");
    p[1].bytes = text;
    Definition::from_parts(ItemKind::SemanticModel, p).unwrap()
}

#[test]
fn non_utf8_tmdl_names_the_line_and_column() {
    let err = semantic_model(&tmdl(b"table T\n\tcolumn \xff\n".to_vec())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "part `definition/tables/T.tmdl` is not UTF-8 text (invalid byte at 2:9); save it as UTF-8, as Power BI Desktop does"
    );
}

#[test]
fn deep_nesting_is_refused_before_it_costs_stack() {
    let mut text = String::from("table T\n");
    for depth in 1..200 {
        text.push_str(&"\t".repeat(depth));
        text.push_str("annotation A\n");
    }
    let err = semantic_model(&tmdl(text.into_bytes())).unwrap_err();
    assert!(
        matches!(
            err,
            ProjectError::NestingTooDeep {
                limit: 64,
                line: 66,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn huge_lines_are_refused() {
    let text = format!(
        "table T\n\tcolumn C\n\t\tdescription: {}\n",
        "x".repeat(5000)
    );
    let limits = Limits {
        max_tmdl_line_bytes: 4096,
        ..Limits::default()
    };
    let err = semantic_model_with(&tmdl(text.clone().into_bytes()), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ProjectError::LineTooLong {
                line: 3,
                limit: 4096,
                ..
            }
        ),
        "{err}"
    );
    assert!(semantic_model(&tmdl(text.into_bytes())).is_ok());
}

/// Every prefix of a real-looking TMDL file parses or fails cleanly.
#[test]
fn every_prefix_of_a_tmdl_file_parses_or_fails_without_panicking() {
    let text = "/// d\ntable 'A ''b'\n\tmeasure M = ```\n\t\t\tVAR x = 1\n\t\t\tRETURN x\n\t\t\t```\n\tcolumn C = 1\n\t\tdataType: int64\n\tpartition P = m\n\t\tmode: import\n\t\tsource =\n\t\t\t\tlet\n\t\t\t\t    S = Sql.Database(\"a\", \"b\")\n\t\t\t\tin\n\t\t\t\t    S\n\nexpression X = \"v\" meta [IsParameterQuery=true, Type=\"Text\"]\n";
    for n in 0..=text.len() {
        if text.is_char_boundary(n) {
            let _ = semantic_model(&tmdl(text.as_bytes()[..n].to_vec()));
        }
    }
}

#[test]
fn too_many_lines_over_all_parts_are_refused_before_they_are_split() {
    let mut p = parts("definition/tables/T.tmdl");
    p.push(Part {
        path: "definition/tables/U.tmdl".into(),
        bytes: "\n".repeat(60).into_bytes(),
    });
    let def = Definition::from_parts(ItemKind::SemanticModel, p).unwrap();
    let limits = Limits {
        max_tmdl_lines: 64,
        ..Limits::default()
    };
    let err = semantic_model_with(&def, &limits).unwrap_err();
    assert!(
        matches!(&err, ProjectError::TooManyLines { path, limit: 64 } if path == "definition/tables/U.tmdl"),
        "{err}"
    );
    assert!(semantic_model(&def).is_ok());
}
