//! `pbideploy --version` names the version, the git commit and the target triple (#19), so a
//! bug report from a release binary says exactly what was built.

use std::process::Command;

#[test]
fn version_names_version_commit_and_target() {
    let out = crate::support::pbideploy()
        .arg("--version")
        .output()
        .expect("run pbideploy --version");
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).expect("utf-8");
    let line = line.trim();
    let dir = env!("CARGO_MANIFEST_DIR");
    let commit = if std::path::Path::new(dir).join(".git").exists() {
        let git = Command::new("git")
            .args(["-C", dir, "rev-parse", "--short=12", "HEAD"])
            .output()
            .expect("git rev-parse");
        String::from_utf8(git.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    } else {
        "unknown".to_owned()
    };
    let expected_prefix = format!(
        "pbideploy {} (commit {commit}, target ",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        line.starts_with(&expected_prefix),
        "got {line:?}, want prefix {expected_prefix:?}"
    );
    let target = line[expected_prefix.len()..].trim_end_matches(')');
    assert!(
        target.starts_with(std::env::consts::ARCH) && target.contains(std::env::consts::OS),
        "target {target:?} should name {} and {}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
}

/// The client, a crate of its own, sends its own package version as `User-Agent`: it must be
/// pbideploy's (both take the workspace's), so service logs name the release that called.
#[test]
fn the_client_user_agent_names_the_pbideploy_version() {
    let ua = pbideploy::powerbi::client::ClientConfig::default().user_agent;
    assert_eq!(ua, format!("pbideploy/{}", env!("CARGO_PKG_VERSION")));
}
