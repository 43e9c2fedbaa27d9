//! The client against the emulator: authentication through the real auth module (client
//! secret against the emulator's token endpoint), then gateway credentials encrypted by the
//! client for the 2048-bit and the 1024-bit gateway, accepted and decrypted by the emulator.

use std::collections::HashMap;

use pbideploy::powerbi::auth::{AuthSettings, provider_from_env};
use pbideploy::powerbi::client::{ClientConfig, PowerBiClient};
use pbideploy::powerbi::credentials::Credential;
use pbideploy::powerbi::types::{
    CreateGatewayDatasourceRequest, CredentialDetails, CredentialType, EncryptedConnection,
    EncryptionAlgorithm, PrivacyLevel,
};
use pbideploy_emulator::config::EmulatorConfig;
use secrecy::SecretString;

const PASSWORD: &str = "p\"a\\ss wörd-sentinel";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_encrypted_credentials_are_accepted_by_both_gateways() {
    let emu = pbideploy_emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let env: HashMap<String, String> = [
        ("AZURE_TENANT_ID", "contoso"),
        ("AZURE_CLIENT_ID", "pbideploy-test"),
        (
            "AZURE_CLIENT_SECRET",
            "any secret works in the default tenant",
        ),
        ("AZURE_AUTHORITY_HOST", emu.url().as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let tokens = provider_from_env(&AuthSettings::default(), &env).unwrap();
    let config = ClientConfig {
        api_base_url: emu.url(),
        ..ClientConfig::default()
    };
    let client = PowerBiClient::new(config, tokens).unwrap();

    let gateways = client.list_gateways().await.unwrap();
    for (name, server) in [
        ("Local Gateway", "sql-2048"),
        ("Legacy Gateway", "sql-1024"),
    ] {
        let listed = gateways.iter().find(|g| g.name == name).unwrap();
        let gateway = client.get_gateway(&listed.id).await.unwrap();
        let key = gateway.public_key.unwrap();
        let credential = Credential::Basic {
            username: "svc".to_string(),
            password: SecretString::from(PASSWORD),
        };
        let details = CredentialDetails::gateway(
            credential.credential_type(),
            &credential.to_json(),
            &key,
            EncryptedConnection::Encrypted,
            PrivacyLevel::Organizational,
        )
        .unwrap();
        assert_eq!(details.encryption_algorithm, EncryptionAlgorithm::RsaOaep);
        assert_eq!(details.credential_type, CredentialType::Basic);
        let request = CreateGatewayDatasourceRequest {
            datasource_type: "Sql".to_string(),
            connection_details: format!(r#"{{"server":"{server}","database":"db"}}"#),
            datasource_name: format!("{server} db"),
            credential_details: details.clone(),
        };
        let created = client
            .create_gateway_datasource(&gateway.id, &request)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // A second PATCH with freshly encrypted credentials is accepted too.
        client
            .update_datasource_credentials(&gateway.id, &created.id, &details)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        client
            .gateway_datasource_status(&gateway.id, &created.id)
            .await
            .unwrap_or_else(|e| panic!("{name}: status {e}"));
    }

    // The emulator decrypted both: its state shows the password it recovered.
    let state = emu.snapshot().to_string();
    assert_eq!(
        state.matches("sentinel").count(),
        2,
        "both gateways hold the decrypted credentials"
    );

    // Garbage in place of a ciphertext is refused with the service's error, not accepted.
    let gateway = gateways.iter().find(|g| g.name == "Local Gateway").unwrap();
    let bad = CredentialDetails {
        credential_type: CredentialType::Basic,
        credentials: Some(SecretString::from("bm90IGEgY2lwaGVydGV4dA==")),
        encrypted_connection: EncryptedConnection::Encrypted,
        encryption_algorithm: EncryptionAlgorithm::RsaOaep,
        privacy_level: PrivacyLevel::Organizational,
        use_caller_aad_identity: None,
        use_end_user_oauth2_credentials: None,
    };
    let ds = client
        .list_gateway_datasources(&gateway.id)
        .await
        .unwrap()
        .remove(0);
    let err = client
        .update_datasource_credentials(&gateway.id, &ds.id, &bad)
        .await
        .unwrap_err();
    let api = err.api().expect("a service error");
    assert_eq!(api.status.as_u16(), 400, "{err}");
    assert!(api.request_id.is_some(), "{err}");
    emu.shutdown().await;
}
