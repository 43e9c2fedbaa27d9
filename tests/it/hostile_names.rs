//! Control characters and GitHub workflow commands in names and values, end to end:
//! `validate` (text and JSON diagnostics; names with control characters are refused there),
//! `plan` in every format, `show`, `apply` (text and `--json` events) and the logs on stderr.
//! In none of them may a raw control character (C0, DEL, C1, bidi override) appear, nor a line
//! that starts (after whitespace) with `::`, which the Actions runner would execute; JSON
//! output must stay one valid document (or one per line).

use crate::reliability;

use std::path::Path;

use pbideploy_emulator::{EmulatorConfig, start};

/// A workspace name made of workflow commands (printable, so allowed).
const WORKSPACE: &str = "::add-mask::oops ::set-output name=x::y";
/// A dataset name that is a workflow command by itself.
const DATASET: &str = "::warning file=x::pwned";
/// A parameter value that tries everything: colour, a forged line with a workflow command,
/// C1 CSI and a right-to-left override (values may hold control characters; names may not).
const SERVER: &str = "sql\\e[31m\\r\\n::error::x\\u009b2J\\u202e.contoso.com";

fn manifest(suffix: &str) -> String {
    format!(
        r#"apiVersion: pbideploy/v1
workspaces:
  - name: "{WORKSPACE}{suffix}"
    create: true
    datasets:
      - name: "{DATASET}"
        pbix: pbix/sales.pbix
        parameters: {{Server: "{SERVER}", Database: Sales}}
"#
    )
}

/// A manifest whose diagnostics quote hostile names and paths.
const INVALID: &str = r#"apiVersion: pbideploy/v1
workspaces:
  - name: "W\r\n::add-mask::w"
    datasets:
      - name: "D\n::warning::pwned"
        pbix: "pbix/\n::error::missing\e[2J.pbix"
    reports:
      - name: "R\n::set-output name=a::b"
        pbix: pbix/sales-summary.pbix
        dataset: "nope\n::add-mask::zz\e]8;;http://x\a\u009b"
"#;

fn run(dir: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = reliability::cli(dir, url, "x").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every way `text` could attack a terminal or a workflow log.
fn attacks(what: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for c in text.chars() {
        let n = c as u32;
        let control = (n < 0x20 && c != '\n') || n == 0x7f || (0x80..=0x9f).contains(&n);
        let bidi = matches!(n, 0x202a..=0x202e | 0x2066..=0x2069 | 0x2028 | 0x2029);
        if control || bidi {
            found.push(format!("{what}: raw U+{n:04X}"));
        }
    }
    for line in text.lines() {
        if line.trim_start().starts_with("::") {
            found.push(format!("{what}: workflow command line {line:?}"));
        }
    }
    found
}

#[test]
fn hostile_names_are_escaped_in_every_output() {
    let rt = reliability::runtime();
    let emu = rt.block_on(start(EmulatorConfig::default())).unwrap();
    let url = emu.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("pbix")).unwrap();
    for name in ["sales.pbix", "sales-summary.pbix"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("manifests/pbix")
            .join(name);
        std::fs::copy(from, dir.join("pbix").join(name)).unwrap();
    }
    std::fs::write(dir.join("m.yaml"), manifest("")).unwrap();
    std::fs::write(dir.join("m2.yaml"), manifest(" 2")).unwrap();
    std::fs::write(dir.join("bad.yaml"), INVALID).unwrap();

    let mut runs: Vec<(String, i32, String, String, bool)> = Vec::new();
    let mut go = |name: &str, args: &[&str], json: bool| {
        let (code, out, err) = run(dir, &url, args);
        runs.push((name.to_string(), code, out, err, json));
    };
    go("validate bad", &["validate", "-f", "bad.yaml"], false);
    go(
        "validate bad --format json",
        &["validate", "-f", "bad.yaml", "--format", "json"],
        true,
    );
    go("plan bad", &["plan", "-f", "bad.yaml"], false);
    go(
        "plan",
        &["-vv", "plan", "-f", "m.yaml", "--out", "plan.json"],
        false,
    );
    go(
        "plan markdown",
        &["plan", "-f", "m.yaml", "--format", "markdown"],
        false,
    );
    go(
        "plan json",
        &["plan", "-f", "m.yaml", "--format", "json"],
        true,
    );
    for format in ["text", "markdown", "json"] {
        go(
            &format!("show {format}"),
            &["show", "plan.json", "--format", format],
            format == "json",
        );
    }
    go(
        "apply --format json",
        &[
            "-vvv",
            "apply",
            "--auto-approve",
            "--format",
            "json",
            "-f",
            "m2.yaml",
        ],
        true,
    );
    go(
        "apply (text)",
        &["-vvv", "apply", "--auto-approve", "-f", "m.yaml"],
        false,
    );

    let mut found = Vec::new();
    for (name, code, out, err, json) in &runs {
        // The invalid manifest is refused as invalid input (exit 1), not by a panic (101).
        let want = i32::from(name.contains("bad"));
        assert_eq!(*code, want, "{name} exited {code}\n{out}\n{err}");
        found.extend(attacks(&format!("{name} stdout"), out));
        found.extend(attacks(&format!("{name} stderr"), err));
        if *json {
            let whole = serde_json::from_str::<serde_json::Value>(out).is_ok();
            let lines = out
                .lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok());
            assert!(!out.trim().is_empty(), "{name}: no JSON on stdout\n{err}");
            assert!(whole || lines, "{name}: not JSON\n{out}");
        }
    }
    let plan_file = std::fs::read_to_string(dir.join("plan.json")).unwrap();
    found.extend(attacks("plan.json", &plan_file));
    // The names did reach the outputs (escaped), so the test looked at the right thing: the
    // whole of the outputs without logs frozen, the others checked for the names.
    for (name, code, stdout, stderr, _) in &runs {
        if ["validate bad", "plan markdown", "show text"].contains(&name.as_str()) {
            let run = crate::support::Run {
                code: *code,
                stdout: stdout.clone(),
                stderr: stderr.clone(),
            };
            crate::support::assert_cli_snapshot!(name.replace(' ', "_"), run);
        }
    }
    let apply_text = &runs.last().unwrap().2;
    assert!(apply_text.contains(WORKSPACE), "{apply_text}");
    assert!(apply_text.contains(DATASET), "{apply_text}");
    let plan_text = &runs[3].2;
    assert!(
        plan_text.contains(r"sql\e[31m\r\n::error::x\u{009b}2J\u{202e}"),
        "{plan_text}"
    );
    // The service got the real value.
    let state = emu.snapshot().to_string();
    assert!(
        state.contains(r"sql\u001b[31m\r\n::error::x"),
        "the value never reached the service"
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
    rt.block_on(emu.shutdown());
}
