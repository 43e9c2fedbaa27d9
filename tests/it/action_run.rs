//! The GitHub Action's run step (`action/run.sh`, #19) run as the runner would: the real
//! pbideploy on PATH, the README quickstart against `--service local`, and a fake GITHUB_*
//! environment whose output and summary files are checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Step {
    dir: tempfile::TempDir,
}

impl Step {
    /// A copy of the quickstart (manifest and PBIX files) in a fresh directory, so the local
    /// service's state (kept beside the manifest) starts empty whatever ran before.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
        std::fs::copy(
            root.join("quickstart.yaml"),
            dir.path().join("quickstart.yaml"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("pbix")).unwrap();
        for entry in std::fs::read_dir(root.join("pbix")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                dir.path().join("pbix").join(entry.file_name()),
            )
            .unwrap();
        }
        Step { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, command: &str, manifest: &str) -> Output {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_pbideploy")).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .arg(root.join("action/run.sh"))
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("PBIDEPLOY_COMMAND", command)
            .env("PBIDEPLOY_MANIFEST", manifest)
            .env("PBIDEPLOY_PLAN_FILE", self.path("plan.json"))
            .env("PBIDEPLOY_ARGS", "--service local")
            .env("GITHUB_OUTPUT", self.path("github_output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary.md"))
            .env("RUNNER_TEMP", self.dir.path())
            .output()
            .unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

#[test]
fn plan_of_the_quickstart_reports_changes_saves_the_plan_and_writes_the_summary() {
    let step = Step::new();
    let out = step.run("plan", "quickstart.yaml");
    assert!(out.status.success(), "{out:?}");
    let outputs = step.read("github_output");
    let plan = step.path("plan.json");
    let markdown = step.path("pbideploy-plan.md");
    assert_eq!(
        outputs,
        format!(
            "exitcode=2\nchanges=true\nplan-file={}\nmarkdown={}\n",
            plan.display(),
            markdown.display()
        )
    );
    assert!(plan.is_file(), "the saved plan exists");
    let summary = step.read("summary.md");
    assert!(
        !summary.is_empty(),
        "the Markdown plan is in the job summary"
    );
    assert_eq!(
        summary.trim_end(),
        step.read("pbideploy-plan.md").trim_end()
    );
}

#[test]
fn plan_error_fails_the_step_after_writing_the_exit_code() {
    let step = Step::new();
    let out = step.run("plan", "does-not-exist.yaml");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let outputs = step.read("github_output");
    assert!(outputs.starts_with("exitcode=1\n"), "{outputs}");
    assert!(!outputs.contains("changes="), "{outputs}");
}

#[test]
fn unknown_command_is_refused() {
    let step = Step::new();
    let out = step.run("destroy", "quickstart.yaml");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be plan or apply"));
}
