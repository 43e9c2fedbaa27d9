//! Progress of long steps (uploads, refresh waits): bars on a terminal (indicatif), plain
//! periodic lines elsewhere (CI logs keep one line per interval, not a redraw per byte), and
//! `apply_progress` events with `--json`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::output::Output;
use crate::plan::model::Change;
use crate::powerbi::upload::Progress;
use crate::sanitize;

/// How often plain output reports an upload.
const UPLOAD_LINE_EVERY: Duration = Duration::from_secs(5);
/// How often plain output reports a refresh that is still running.
const WAIT_LINE_EVERY: Duration = Duration::from_secs(10);

/// Upload progress for `change`, `total` bytes: a bar on a terminal, lines otherwise.
pub fn upload(output: &Output, change: &Change, total: u64) -> Arc<dyn Progress> {
    if let Some(bars) = output.bars() {
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = bars.add(ProgressBar::new(total).with_style(style));
        bar.set_message(sanitize::text(&format!("{}: uploading", change.address)));
        return Arc::new(BarProgress(bar));
    }
    Arc::new(LineProgress {
        output: output.clone(),
        change: change.clone(),
        start: Instant::now(),
        every: output.progress_interval().unwrap_or(UPLOAD_LINE_EVERY),
        sent: AtomicU64::new(0),
        last_line: AtomicU64::new(0),
        total,
    })
}

/// A bar that follows the bytes sent; cleared when the upload is dropped.
struct BarProgress(ProgressBar);

impl Progress for BarProgress {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }

    fn restart(&self) {
        self.0.set_position(0);
    }
}

impl Drop for BarProgress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Upload progress as plain lines, at most one per interval.
struct LineProgress {
    output: Output,
    change: Change,
    start: Instant,
    every: Duration,
    sent: AtomicU64,
    /// Milliseconds since `start` of the last line.
    last_line: AtomicU64,
    total: u64,
}

impl Progress for LineProgress {
    fn advance(&self, bytes: u64) {
        let sent = self.sent.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let now = millis(self.start.elapsed());
        let last = self.last_line.load(Ordering::Relaxed);
        if now >= last + millis(self.every)
            && self
                .last_line
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let pct = (sent * 100).checked_div(self.total).unwrap_or(100);
            self.output.progress(
                &self.change,
                &format!("uploaded {sent} of {} bytes ({pct}%)", self.total),
                self.start.elapsed(),
            );
        }
    }

    fn restart(&self) {
        self.sent.store(0, Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A wait (refresh) in progress: a spinner with the elapsed time on a terminal, a line per
/// interval otherwise. Cleared when dropped.
pub struct Waiting {
    output: Output,
    change: Change,
    what: &'static str,
    start: Instant,
    every: Duration,
    last_line: Duration,
    spinner: Option<ProgressBar>,
}

impl Waiting {
    /// Starts showing that `change` waits for `what`.
    pub fn new(output: &Output, change: &Change, what: &'static str) -> Self {
        let spinner = output.bars().map(|bars| {
            let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let s = bars.add(ProgressBar::new_spinner().with_style(style));
            s.set_message(sanitize::text(&format!("{}: {what}", change.address)));
            s.enable_steady_tick(Duration::from_millis(200));
            s
        });
        Self {
            output: output.clone(),
            change: change.clone(),
            what,
            start: Instant::now(),
            every: output.progress_interval().unwrap_or(WAIT_LINE_EVERY),
            last_line: Duration::ZERO,
            spinner,
        }
    }

    /// Called on every poll: prints a line when the interval has passed (plain output only).
    pub fn tick(&mut self) {
        let elapsed = self.start.elapsed();
        if self.spinner.is_none() && elapsed >= self.last_line + self.every {
            self.last_line = elapsed;
            self.output.progress(&self.change, self.what, elapsed);
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(s) = &self.spinner {
            s.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::Address;
    use crate::domain::operation::Operation;
    use crate::plan::model::{Action, ChangeKind};
    use std::sync::Mutex;

    fn change() -> Change {
        Change {
            address: Address::workspace("Sales"),
            kind: ChangeKind::Workspace,
            action: Action::Create,
            attrs: Vec::new(),
            reason: String::new(),
            depends_on: Vec::new(),
            operation: Operation::CreateWorkspace {
                workspace: "Sales".into(),
            },
        }
    }

    fn buffer_output() -> (Output, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out = Output::new(buf.clone(), false).with_progress_interval(Duration::ZERO);
        (out, buf)
    }

    fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
        String::from_utf8(buf.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn plain_upload_progress_prints_bytes_and_percent() {
        let (out, buf) = buffer_output();
        let p = upload(&out, &change(), 200);
        p.advance(50);
        p.restart();
        p.advance(100);
        let t = text(&buf);
        assert!(t.contains("uploaded 50 of 200 bytes (25%)"), "{t}");
        assert!(t.contains("uploaded 100 of 200 bytes (50%)"), "{t}");
    }

    #[test]
    fn plain_lines_are_rate_limited() {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out = Output::new(buf.clone(), false);
        let p = upload(&out, &change(), 100);
        for _ in 0..100 {
            p.advance(1);
        }
        assert_eq!(
            text(&buf),
            "",
            "no line before the first interval has passed"
        );
    }

    #[test]
    fn waiting_prints_a_line_per_interval_without_a_terminal() {
        let (out, buf) = buffer_output();
        let mut w = Waiting::new(&out, &change(), "refresh running");
        w.tick();
        assert!(text(&buf).contains("refresh running"), "{}", text(&buf));
    }

    #[test]
    fn with_bars_progress_is_not_written_as_lines_but_messages_still_are() {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out = Output::new(buf.clone(), false).with_hidden_bars();
        let p = upload(&out, &change(), 100);
        p.advance(40);
        let mut w = Waiting::new(&out, &change(), "refresh running");
        w.tick();
        out.message("a step line");
        drop((p, w));
        assert_eq!(
            text(&buf),
            "a step line\n",
            "bars replace the periodic lines only"
        );
    }
}
