//! Gateway wire types: gateways with their public key, gateway data sources and the
//! credential bodies. Credentials are held as [`SecretString`] and redacted from Debug.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::open_enum;

open_enum!(
    /// How a data source authenticates.
    CredentialType {
        Basic => "Basic",
        Windows => "Windows",
        Anonymous => "Anonymous",
        OAuth2 => "OAuth2",
        Key => "Key",
        Sas => "SAS",
        ServicePrincipal => "ServicePrincipal",
    }
);

open_enum!(
    /// Whether the connection to the source is encrypted.
    EncryptedConnection {
        Encrypted => "Encrypted",
        NotEncrypted => "NotEncrypted",
    }
);

open_enum!(
    /// `None` for cloud sources, `RSA-OAEP` for credentials encrypted with a gateway key.
    EncryptionAlgorithm {
        None => "None",
        RsaOaep => "RSA-OAEP",
    }
);

open_enum!(
    /// The Power Query privacy level of the source.
    PrivacyLevel {
        None => "None",
        Public => "Public",
        Organizational => "Organizational",
        Private => "Private",
    }
);

/// A gateway public key: standard base64 of the big-endian RSA modulus and exponent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewayPublicKey {
    #[serde(alias = "Exponent")]
    pub exponent: String,
    #[serde(alias = "Modulus")]
    pub modulus: String,
}

/// A gateway (cluster).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Gateway {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(rename = "type", alias = "Type")]
    pub kind: Option<String>,
    #[serde(alias = "PublicKey")]
    pub public_key: Option<GatewayPublicKey>,
    /// A JSON document in a string.
    #[serde(alias = "GatewayAnnotation")]
    pub gateway_annotation: Option<String>,
    #[serde(alias = "GatewayStatus")]
    pub gateway_status: Option<String>,
}

/// `credentialDetails` as returned on a gateway data source.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct GatewayDatasourceCredentialInfo {
    #[serde(
        rename = "useEndUserOAuth2Credentials",
        alias = "UseEndUserOAuth2Credentials"
    )]
    pub use_end_user_oauth2_credentials: Option<bool>,
}

/// A data source defined on a gateway. `connection_details` is a JSON document in a string.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewayDatasource {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "GatewayId")]
    pub gateway_id: Option<String>,
    #[serde(alias = "DatasourceName", alias = "dataSourceName")]
    pub datasource_name: Option<String>,
    #[serde(alias = "DatasourceType", alias = "dataSourceType")]
    pub datasource_type: Option<String>,
    #[serde(alias = "ConnectionDetails")]
    pub connection_details: Option<String>,
    #[serde(alias = "CredentialType")]
    pub credential_type: Option<CredentialType>,
    #[serde(alias = "CredentialDetails")]
    pub credential_details: Option<GatewayDatasourceCredentialInfo>,
}

/// The credentials sent to a data source. `credentials` is the finished string (plain JSON
/// for cloud sources, the encrypted text for on-premises ones) built by the crypto/apply
/// code; Debug never shows it.
#[derive(Clone, Serialize)]
pub struct CredentialDetails {
    #[serde(rename = "credentialType")]
    pub credential_type: CredentialType,
    #[serde(
        rename = "credentials",
        serialize_with = "expose_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub credentials: Option<SecretString>,
    #[serde(rename = "encryptedConnection")]
    pub encrypted_connection: EncryptedConnection,
    #[serde(rename = "encryptionAlgorithm")]
    pub encryption_algorithm: EncryptionAlgorithm,
    #[serde(rename = "privacyLevel")]
    pub privacy_level: PrivacyLevel,
    #[serde(
        rename = "useCallerAADIdentity",
        skip_serializing_if = "Option::is_none"
    )]
    pub use_caller_aad_identity: Option<bool>,
    #[serde(
        rename = "useEndUserOAuth2Credentials",
        skip_serializing_if = "Option::is_none"
    )]
    pub use_end_user_oauth2_credentials: Option<bool>,
}

fn expose_opt<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

impl std::fmt::Debug for CredentialDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialDetails")
            .field("credential_type", &self.credential_type)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "(redacted)"),
            )
            .field("encrypted_connection", &self.encrypted_connection)
            .field("encryption_algorithm", &self.encryption_algorithm)
            .field("privacy_level", &self.privacy_level)
            .field("use_caller_aad_identity", &self.use_caller_aad_identity)
            .field(
                "use_end_user_oauth2_credentials",
                &self.use_end_user_oauth2_credentials,
            )
            .finish()
    }
}

/// Body of `PATCH gateways/{g}/datasources/{d}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDatasourceRequest {
    pub credential_details: CredentialDetails,
}

/// Body of `POST gateways/{g}/datasources` (on-premises gateways; credentials encrypted).
#[derive(Debug, Clone, Serialize)]
pub struct CreateGatewayDatasourceRequest {
    #[serde(rename = "dataSourceType")]
    pub datasource_type: String,
    /// A JSON document in a string, e.g. `{"server":"s","database":"d"}`.
    #[serde(rename = "connectionDetails")]
    pub connection_details: String,
    #[serde(rename = "datasourceName")]
    pub datasource_name: String,
    #[serde(rename = "credentialDetails")]
    pub credential_details: CredentialDetails,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> CredentialDetails {
        CredentialDetails {
            credential_type: CredentialType::Basic,
            credentials: Some(SecretString::from("{\"credentialData\":[\"HUNTER2\"]}")),
            encrypted_connection: EncryptedConnection::Encrypted,
            encryption_algorithm: EncryptionAlgorithm::None,
            privacy_level: PrivacyLevel::Organizational,
            use_caller_aad_identity: None,
            use_end_user_oauth2_credentials: Some(false),
        }
    }

    #[test]
    fn credential_body_serialises_exactly_and_debug_redacts() {
        let req = UpdateDatasourceRequest {
            credential_details: details(),
        };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"credentialDetails":{"credentialType":"Basic",
              "credentials":"{\"credentialData\":[\"HUNTER2\"]}","encryptedConnection":"Encrypted",
              "encryptionAlgorithm":"None","privacyLevel":"Organizational",
              "useEndUserOAuth2Credentials":false}})
        );
        assert!(!format!("{req:?}").contains("HUNTER2"));
        let create = CreateGatewayDatasourceRequest {
            datasource_type: "Sql".into(),
            connection_details: "{}".into(),
            datasource_name: "n".into(),
            credential_details: details(),
        };
        assert!(!format!("{create:?}").contains("HUNTER2"));
    }

    #[test]
    fn caller_identity_has_no_credentials_field() {
        let mut d = details();
        d.credentials = None;
        d.credential_type = CredentialType::OAuth2;
        d.use_caller_aad_identity = Some(true);
        let json = serde_json::to_value(&d).unwrap();
        assert!(json.get("credentials").is_none());
        assert_eq!(json["useCallerAADIdentity"], true);
        assert_eq!(
            serde_json::to_value(EncryptionAlgorithm::RsaOaep).unwrap(),
            "RSA-OAEP"
        );
    }

    #[test]
    fn gateway_with_public_key() {
        let g: Gateway = serde_json::from_str(
            r#"{"id":"1f","name":"G","type":"Resource","publicKey":{"exponent":"AQAB","modulus":"o6j2"}}"#,
        )
        .unwrap();
        assert_eq!(g.public_key.unwrap().exponent, "AQAB");
        let d: GatewayDatasource = serde_json::from_str(
            r#"{"id":"d","dataSourceType":"Sql","connectionDetails":"{\"server\":\"s\"}","credentialType":"windows"}"#,
        )
        .unwrap();
        assert_eq!(d.datasource_type.as_deref(), Some("Sql"));
        assert_eq!(d.credential_type, Some(CredentialType::Windows));
    }
}
