//! The builder: limits, merge keys, positions, the two-thread path, and equivalence with
//! serde-saphyr on every YAML file of the repository.

use super::*;

fn value(text: &str) -> Value {
    parse(text).map(|(v, _)| v).unwrap()
}

fn code(text: &str) -> &'static str {
    parse(text).unwrap_err().code
}

#[test]
fn merge_keys_expand_and_explicit_keys_win() {
    let v = value("base: &b {x: 1, y: 2}\nother: &o {z: 3, x: 9}\nm:\n  <<: [*b, *o]\n  y: 5\n");
    assert_eq!(v["m"], serde_json::json!({"x": 1, "y": 5, "z": 3}));
    assert_eq!(code("m:\n  <<: 3\n"), "yaml-syntax");
}

#[test]
fn positions_point_at_values_keys_and_aliases() {
    let (_, pos) = parse("a:\n  - x\n  - &n {k: v}\nb: *n\n").unwrap();
    let map = super::super::positions::PosMap::new(pos);
    assert_eq!((map.value("/a/0").line, map.value("/a/0").column), (2, 5));
    assert_eq!((map.key("/a").line, map.key("/a").column), (1, 1));
    assert_eq!(map.value("/a/1/k").column, 12);
    assert_eq!(map.value("/b").line, 4, "an alias is where it is used");
    assert_eq!(
        map.value("/b/k").line,
        3,
        "what it expands to is where it was written"
    );
}

#[test]
fn limits_hold() {
    assert_eq!(code("a: 1\na: 2\n"), "duplicate-key");
    assert_eq!(code("a: 1\n---\nb: 2\n"), "multiple-documents");
    let deep = format!("{}x{}", "[".repeat(40), "]".repeat(40));
    assert_eq!(code(&deep), "yaml-too-complex");
    let block: String = (0..40).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
    assert_eq!(code(&block), "yaml-too-complex");
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = (b'a' + i - 1) as char;
        let name = (b'a' + i) as char;
        laughs += &format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        );
    }
    assert_eq!(code(&laughs), "yaml-too-complex");
    assert_eq!(code("a: *nope\n"), "yaml-syntax");
    assert_eq!(value(""), Value::Null);
    assert_eq!(value("# only a comment\n"), Value::Null);
}

/// Every YAML file of the repository parses to the same JSON as through serde-saphyr,
/// which the manifest loader used before (with the same strict booleans and refusals).
#[test]
fn the_repository_yaml_parses_as_serde_saphyr_parses_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "manifests",
        "tests/fixtures",
        "tests/manifests/invalid",
        "examples/ci",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        files.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")),
        );
    }
    assert!(files.len() > 60, "found {} YAML files", files.len());
    let options = serde_saphyr::options! {
        strict_booleans: true,
        reject_unsupported_tags: true,
    };
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let theirs = serde_saphyr::from_str_with_options::<Value>(&text, options.clone());
        let ours = parse(&text);
        match (theirs, ours) {
            (Ok(theirs), Ok((ours, _))) => assert_eq!(ours, theirs, "{}", path.display()),
            (Err(_), Err(_)) => {}
            (theirs, ours) => panic!(
                "{}: serde-saphyr {:?}, ours {:?}",
                path.display(),
                theirs.map(|_| "ok"),
                ours.map(|_| "ok")
            ),
        }
    }
}

/// Past `PIPELINE_FROM_BYTES` a second thread scans: the result is the same, and an error
/// anywhere (the builder hanging up early, or the scanner failing late) comes back once.
#[test]
fn large_inputs_parse_on_two_threads_with_the_same_result_and_errors() {
    let mut text = String::from("list:\n");
    while text.len() < 2 * PIPELINE_FROM_BYTES {
        let i = text.len();
        text += &format!("  - {{name: item {i}, n: {i}, flag: true, tags: [a, 'b', ~]}}\n");
    }
    let theirs: Value = serde_saphyr::from_str(&text).unwrap();
    let (ours, tree) = parse(&text).unwrap();
    assert_eq!(ours, theirs);
    let lines = text.lines().count();
    let positions = super::super::positions::PosMap::new(tree);
    assert_eq!(
        positions.value(&format!("/list/{}/n", lines - 2)).line as usize,
        lines
    );

    let early = format!("a: 1\na: 2\n{text}");
    let err = parse(&early).unwrap_err();
    assert_eq!((err.code, err.line), ("duplicate-key", 2));
    let late = format!("{text}  - [unclosed\n");
    let err = parse(&late).unwrap_err();
    assert_eq!(err.code, "yaml-syntax", "{err:?}");
    assert!(err.line as usize > lines, "{err:?}");
}
