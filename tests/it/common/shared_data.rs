//! One rule for the tests that read `../shared` beside the repository (the independent data:
//! the official swagger, encryption vectors, real PBIX files), included by each crate's test
//! support with `#[path]`: such a test must never pass unseen without it. When `CI` is set
//! (`.ci/run` sets it) an absent path fails the test, naming the path; elsewhere a `SKIP` line
//! goes straight to stdout, which libtest does not capture, and the caller returns early.
//! Count them with `cargo test --workspace 2>&1 | grep -c '^SKIP'`.

use std::path::{Path, PathBuf};

/// `<repo>/../shared/<rel>`, or `None` after the SKIP notice (see the module docs).
pub fn beside(repo: &Path, rel: &str) -> Option<PathBuf> {
    let path = repo.join("../shared").join(rel);
    if path.exists() {
        return Some(path);
    }
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    assert!(
        !ci,
        "{} is absent and CI is set: {test} checks against that independent data and must \
         not be skipped (clone the shared folder beside the repository)",
        path.display()
    );
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stdout(),
        "SKIP {test}: {} is absent",
        path.display()
    );
    None
}
