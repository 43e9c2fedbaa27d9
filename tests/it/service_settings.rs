//! The manifest's `service` block reaches authentication: `tenantId` and `authorityUrl` are
//! used for the token request when the environment does not set `AZURE_TENANT_ID` /
//! `AZURE_AUTHORITY_HOST`, and the environment wins when it does.

use pbideploy_emulator::EmulatorConfig;

/// Runs `pbideploy plan` for a one-workspace manifest whose `service` block names `tenant`
/// and the emulator as authority; returns the exit code and the token request paths.
async fn plan_with_service_block(tenant: &str, env_tenant: Option<&str>) -> (i32, Vec<String>) {
    let emu = pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let url = emu.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pbideploy.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: pbideploy/v1\nservice:\n  authorityUrl: {url}\n  tenantId: {tenant}\n\
             workspaces:\n  - name: Service settings\n    create: true\n"
        ),
    )
    .unwrap();
    let env_tenant = env_tenant.map(str::to_string);
    let code = tokio::task::spawn_blocking(move || {
        let mut cmd = crate::support::pbideploy();
        cmd.arg("plan")
            .arg("-f")
            .arg(&manifest)
            .args(["--service-url", &url, "--color", "never"])
            .env("AZURE_CLIENT_ID", "service-settings")
            .env("AZURE_CLIENT_SECRET", "not-a-real-secret");
        if let Some(t) = env_tenant {
            cmd.env("AZURE_TENANT_ID", t);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.code() == Some(0),
            "plan failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.code().unwrap_or(-1)
    })
    .await
    .unwrap();
    let tokens = emu
        .app()
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .map(|r| r.path.clone())
        .collect();
    (code, tokens)
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_and_authority_come_from_the_manifest() {
    let (code, tokens) = plan_with_service_block("contoso.onmicrosoft.com", None).await;
    assert_eq!(code, 0);
    assert_eq!(tokens, ["/contoso.onmicrosoft.com/oauth2/v2.0/token"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environment_tenant_wins_over_the_manifest() {
    let (_, tokens) = plan_with_service_block("contoso.onmicrosoft.com", Some("fabrikam")).await;
    assert_eq!(tokens, ["/fabrikam/oauth2/v2.0/token"]);
}
