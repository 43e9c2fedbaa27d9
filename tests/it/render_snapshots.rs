//! Snapshot tests of the text, Markdown and JSON renderers on plans built in code.

use crate::render_fixture;

use pbideploy::plan::render::{COMMENT_LIMIT, render_json, render_markdown, render_text};

/// No output line may start (after whitespace) with `::` and no raw control character other
/// than newline may appear: the hostile names must not reach a terminal or the Actions runner.
fn assert_inert(out: &str) {
    for line in out.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "workflow command leaked: {line:?}"
        );
    }
    for c in out.chars() {
        let u = c as u32;
        assert!(
            c == '\n' || !(u < 0x20 || u == 0x7f || (0x80..=0x9f).contains(&u)),
            "raw control character {u:#x} in output"
        );
    }
}

#[test]
fn text_rich_plan() {
    let out = render_text(&render_fixture::rich(), false);
    assert_inert(&out);
    assert!(
        out.contains("Plan: 5 to add, 10 to change, 2 to delete."),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn text_rich_plan_in_colour_uses_ansi_but_only_ours() {
    let out = render_text(&render_fixture::rich(), true);
    assert!(out.contains("\x1b[32m"), "green for create");
    assert!(out.contains("\x1b[33m"), "yellow for update");
    assert!(out.contains("\x1b[31m"), "red for delete");
    // Strip our own styling; what is left must be the plain rendering, so no user escape survives.
    let stripped: String = anstream::adapter::strip_str(&out).to_string();
    assert_inert(&stripped);
    assert!(
        !out.contains("\x1b[2J"),
        "user escape sequence reached the output raw"
    );
}

#[test]
fn text_no_changes() {
    let out = render_text(&render_fixture::no_changes(), false);
    assert_eq!(out, "No changes. The service matches the manifest.\n");
}

#[test]
fn markdown_rich_plan() {
    let out = render_markdown(&render_fixture::rich());
    assert_inert(&out);
    // Inside fenced code blocks HTML is inert; outside them a name must never open a tag.
    let mut in_fence = false;
    for line in out.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            assert!(
                !line.contains("<details>|"),
                "a name opened raw HTML: {line}"
            );
        }
    }
    assert!(out.contains("[!WARNING]"));
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_no_changes() {
    insta::assert_snapshot!(render_markdown(&render_fixture::no_changes()));
}

#[test]
fn markdown_truncates_a_huge_plan_under_the_comment_limit() {
    let plan = render_fixture::huge(2_000);
    let out = render_markdown(&plan);
    assert!(
        out.chars().count() < COMMENT_LIMIT,
        "{} chars",
        out.chars().count()
    );
    assert!(out.contains("**Output truncated**"), "no truncation note");
    assert!(out.contains("Plan: 0 to add, 1980 to change, 20 to delete."));
    // The note says how many changes were left out, and that number is right.
    // Change headers inside the diff blocks (the warning list and its title are not headers).
    let shown = out
        .lines()
        .filter(|l| l.trim_start().starts_with("# workspace"))
        .filter(|l| l.contains("will be updated in-place") || l.contains("will be destroyed"))
        .count();
    let note = out
        .lines()
        .find(|l| l.contains("Output truncated"))
        .unwrap();
    let left_out: usize = note
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(shown + left_out, 2_000, "{note}");
    // Every <details> that was opened is closed, and fences balance.
    assert_eq!(
        out.matches("<details>").count(),
        out.matches("</details>").count()
    );
}

#[test]
fn markdown_small_plan_is_not_truncated() {
    let out = render_markdown(&render_fixture::huge(30));
    assert!(!out.contains("Output truncated"));
    assert_eq!(out.matches("will be updated in-place").count(), 29);
}

#[test]
fn json_rich_plan() {
    let out = render_json(&render_fixture::rich()).unwrap();
    assert_inert(&out);
    insta::assert_snapshot!(out);
}

#[test]
fn json_round_trips_to_the_same_plan() {
    let plan = render_fixture::rich();
    let out = render_json(&plan).unwrap();
    let back: pbideploy::plan::model::Plan = serde_json::from_str(&out).unwrap();
    assert_eq!(back, plan);
}

fn schema_validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/plan.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::options().build(&schema).unwrap()
}

#[test]
fn json_output_validates_against_the_schema() {
    let validator = schema_validator();
    for plan in [
        render_fixture::rich(),
        render_fixture::no_changes(),
        render_fixture::huge(3),
    ] {
        let value: serde_json::Value = serde_json::from_str(&render_json(&plan).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        // The plan file form (no summary) validates too.
        let file_form = serde_json::to_value(&plan).unwrap();
        assert!(validator.is_valid(&file_form));
    }
}

#[test]
fn schema_rejects_what_it_should() {
    let validator = schema_validator();
    let mut value: serde_json::Value =
        serde_json::from_str(&render_json(&render_fixture::rich()).unwrap()).unwrap();
    value["changes"][0]["action"] = serde_json::json!("explode");
    assert!(!validator.is_valid(&value), "unknown action accepted");
    let mut value: serde_json::Value =
        serde_json::from_str(&render_json(&render_fixture::rich()).unwrap()).unwrap();
    value["format_version"] = serde_json::json!("2.0");
    assert!(!validator.is_valid(&value), "major 2 accepted");
}
