//! `inspect` prints names, M and values read from a PBIX that may come from a pull request:
//! none of them may move the terminal's cursor, forge an output line or start a GitHub
//! workflow command, in text; in JSON they keep their exact value.

use std::io::Write;

use crate::support::pbideploy;

const HOSTILE: &str = "::add-mask::x\n::error::forged\u{1b}[2J\u{202e}kcab";

/// A model file whose table, partition source and parameter carry [`HOSTILE`] text.
fn hostile_pbix(dir: &std::path::Path) -> std::path::PathBuf {
    let name = serde_json::to_string(HOSTILE).unwrap();
    let url = serde_json::to_string(&format!("https://h.example/{HOSTILE}")).unwrap();
    let m = format!("Web.Contents({url})");
    let schema = serde_json::json!({
        "name": "s",
        "model": {
            "tables": [{
                "name": HOSTILE,
                "partitions": [{"name": HOSTILE, "mode": "import",
                    "source": {"type": "m", "expression": m}}]
            }],
            "expressions": [{"name": HOSTILE, "kind": "m",
                "expression": format!("{name} meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true]")}]
        }
    });
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("DataModelSchema", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(schema.to_string().as_bytes()).unwrap();
    let path = dir.join("hostile.pbix");
    std::fs::write(&path, zip.finish().unwrap().into_inner()).unwrap();
    path
}

#[test]
fn text_output_escapes_what_the_file_says() {
    let dir = tempfile::tempdir().unwrap();
    let file = hostile_pbix(dir.path());
    let out = pbideploy().arg("inspect").arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The name was read and shown (escaped), so the test is about real output.
    assert!(
        stdout.contains(r":\:add-mask::x\n::error::forged\e[2J"),
        "{stdout}"
    );
    assert!(stdout.contains(r"\u{202e}kcab"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'),
        "{stdout}"
    );
    for line in stdout.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "workflow command line: {line:?}"
        );
    }
}

#[test]
fn json_output_keeps_the_exact_names_in_ascii_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let file = hostile_pbix(dir.path());
    let out = pbideploy()
        .args(["inspect", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["model"]["tables"][0]["name"], HOSTILE, "{report}");
}
