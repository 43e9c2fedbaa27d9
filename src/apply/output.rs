//! What apply prints: a line per step as it starts and ends (with elapsed time), failures
//! with the service's code, request id and a hint, and the final `Apply complete` line; or,
//! with `--json`, one JSON event per line for machines.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressDrawTarget};
use serde_json::json;

use super::StepError;
use crate::env_vars::{self, ProcessEnv, VarSource};
use crate::plan::model::{Action, Change};
use crate::sanitize;

/// Where output goes (stdout in the CLI, a buffer in tests).
pub type Sink = Arc<Mutex<dyn Write + Send>>;

/// The apply printer. Cheap to clone.
#[derive(Clone)]
pub struct Output {
    sink: Sink,
    json: bool,
    /// Progress bars (text output on a terminal only); lines are printed above them.
    bars: Option<MultiProgress>,
    /// Interval of plain progress lines; `None` = each kind's default.
    progress_interval: Option<Duration>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output").field("json", &self.json).finish()
    }
}

fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("Creating", "Creation complete"),
        Action::Delete => ("Destroying", "Destruction complete"),
        Action::Replace => ("Replacing", "Replacement complete"),
        _ => ("Modifying", "Modifications complete"),
    }
}

impl Output {
    /// Print to `sink`, as text or JSON lines.
    pub fn new(sink: Sink, json: bool) -> Self {
        Self {
            sink,
            json,
            bars: None,
            progress_interval: None,
        }
    }

    /// Print to stdout; progress bars when it is a terminal and the output is text.
    pub fn stdout(json: bool) -> Self {
        let mut out = Self::new(Arc::new(Mutex::new(std::io::stdout())), json);
        let dumb = ProcessEnv.var(env_vars::TERM).is_some_and(|t| t == "dumb");
        if !json && !dumb && std::io::stdout().is_terminal() {
            out.bars = Some(MultiProgress::with_draw_target(ProgressDrawTarget::stdout()));
        }
        out
    }

    /// Progress bars drawn nowhere (tests of the bar path).
    #[cfg(test)]
    pub(crate) fn with_hidden_bars(mut self) -> Self {
        self.bars = Some(MultiProgress::with_draw_target(ProgressDrawTarget::hidden()));
        self
    }

    /// Plain progress lines at this interval instead of the defaults (tests).
    #[cfg(test)]
    pub(crate) fn with_progress_interval(mut self, every: Duration) -> Self {
        self.progress_interval = Some(every);
        self
    }

    /// The progress bars, when they are shown.
    pub(crate) fn bars(&self) -> Option<&MultiProgress> {
        self.bars.as_ref()
    }

    /// The interval of plain progress lines, when overridden.
    pub(crate) fn progress_interval(&self) -> Option<Duration> {
        self.progress_interval
    }

    /// True for `--json`.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Writes one line. Names, messages and hints in it come from the manifest and the
    /// service, so the line is escaped here, once for every kind of line: text loses control
    /// characters and can never start a workflow command (`::add-mask::`); JSON keeps its
    /// structure and escapes what serde leaves raw (C1 controls, bidi overrides).
    fn line(&self, text: &str) {
        let text = if self.json {
            sanitize::json(text)
        } else {
            sanitize::text(text)
        };
        let write = || {
            let mut guard = match self.sink.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            // Output errors (closed pipe) must not abort an apply half-way.
            let _ = writeln!(guard, "{text}");
            let _ = guard.flush();
        };
        match &self.bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }

    /// A step starts.
    pub fn started(&self, change: &Change) {
        if self.json {
            self.line(&json!({"type": "apply_start", "address": change.address.to_string(), "action": change.action, "kind": change.kind}).to_string());
        } else {
            self.line(&format!("{}: {}...", change.address, verb(change.action).0));
        }
    }

    /// A step made progress (uploads, polls).
    pub fn progress(&self, change: &Change, message: &str, elapsed: Duration) {
        if self.json {
            self.line(&json!({"type": "apply_progress", "address": change.address.to_string(), "message": message, "elapsed_secs": elapsed.as_secs_f64()}).to_string());
        } else {
            self.line(&format!(
                "{}: {message} [{}s elapsed]",
                change.address,
                elapsed.as_secs()
            ));
        }
    }

    /// A step succeeded.
    pub fn finished(&self, change: &Change, elapsed: Duration, detail: Option<&str>) {
        if self.json {
            self.line(&json!({"type": "apply_complete", "address": change.address.to_string(), "action": change.action, "elapsed_secs": elapsed.as_secs_f64(), "detail": detail}).to_string());
        } else {
            let extra = detail.map(|d| format!(" [{d}]")).unwrap_or_default();
            self.line(&format!(
                "{}: {} after {:.1}s{extra}",
                change.address,
                verb(change.action).1,
                elapsed.as_secs_f64()
            ));
        }
    }

    /// A step failed.
    pub fn failed(&self, change: &Change, elapsed: Duration, err: &StepError) {
        if self.json {
            self.line(&json!({"type": "apply_errored", "address": change.address.to_string(), "elapsed_secs": elapsed.as_secs_f64(), "message": err.message, "code": err.code, "request_id": err.request_id, "hint": err.hint}).to_string());
            return;
        }
        self.line(&format!(
            "{}: failed after {:.1}s: {}",
            change.address,
            elapsed.as_secs_f64(),
            err.message
        ));
        if let Some(code) = &err.code {
            self.line(&format!("    code: {code}"));
        }
        if let Some(id) = &err.request_id {
            self.line(&format!("    request id: {id}"));
        }
        if let Some(hint) = &err.hint {
            self.line(&format!("    hint: {hint}"));
        }
    }

    /// A step was skipped because something it depends on failed.
    pub fn skipped(&self, change: &Change, because: &str) {
        if self.json {
            self.line(&json!({"type": "apply_skipped", "address": change.address.to_string(), "because": because}).to_string());
        } else {
            self.line(&format!(
                "{}: skipped (depends on {because}, which failed)",
                change.address
            ));
        }
    }

    /// A free-form message (plain text only; JSON mode wraps it).
    pub fn message(&self, text: &str) {
        if self.json {
            self.line(&json!({"type": "message", "message": text}).to_string());
        } else {
            self.line(text);
        }
    }

    /// The summary and final line.
    pub fn summary(&self, s: &super::ApplySummary) {
        if self.json {
            self.line(&json!({"type": "change_summary", "add": s.added, "change": s.changed, "remove": s.deleted, "failed": s.failed.len(), "skipped": s.skipped.len(), "operation": "apply"}).to_string());
            return;
        }
        self.line("");
        if s.failed.is_empty() {
            self.line(&format!(
                "Apply complete: {} added, {} changed, {} deleted.",
                s.added, s.changed, s.deleted
            ));
        } else {
            self.line(&format!(
                "Apply failed: {} done, {} failed, {} skipped.",
                s.done.len(),
                s.failed.len(),
                s.skipped.len()
            ));
            for (addr, err) in &s.failed {
                self.line(&format!("  failed:  {addr}: {}", err.message));
            }
            for addr in &s.skipped {
                self.line(&format!("  skipped: {addr}"));
            }
            self.line(&format!(
                "Completed steps are recorded in the ledger; fix the cause and run apply again. ({} added, {} changed, {} deleted.)",
                s.added, s.changed, s.deleted
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::Address;
    use crate::domain::operation::Operation;
    use crate::plan::model::ChangeKind;

    /// A step on an item whose name (from the service, say) tries to forge lines.
    fn hostile_change() -> Change {
        let name = "W\x1b[2J\r\n::add-mask::x\u{9b}";
        Change {
            address: Address::workspace(name),
            kind: ChangeKind::Workspace,
            action: Action::Create,
            attrs: Vec::new(),
            reason: String::new(),
            depends_on: Vec::new(),
            operation: Operation::CreateWorkspace {
                workspace: name.into(),
            },
        }
    }

    fn printed(json: bool) -> String {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out = Output::new(buf.clone(), json);
        let change = hostile_change();
        out.started(&change);
        let mut err = StepError::new("refused:\n::set-output name=a::b");
        err.hint = Some("\n::warning::hint".into());
        out.failed(&change, Duration::ZERO, &err);
        String::from_utf8(buf.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn text_lines_escape_control_characters_and_never_start_a_workflow_command() {
        let text = printed(false);
        assert!(
            !text
                .chars()
                .any(|c| c == '\x1b' || c == '\r' || c == '\u{9b}'),
            "{text:?}"
        );
        assert!(
            text.lines().all(|l| !l.trim_start().starts_with("::")),
            "{text}"
        );
        assert!(
            text.contains(r#"W\e[2J\r\n::add-mask::x\u{009b}"#),
            "{text}"
        );
    }

    #[test]
    fn json_events_stay_one_valid_object_per_line_with_c1_escaped() {
        let text = printed(true);
        assert!(!text.contains('\u{9b}'), "{text:?}");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(
                v["address"]
                    .as_str()
                    .unwrap()
                    .contains("::add-mask::x\u{9b}"),
                "{line}"
            );
        }
    }
}
