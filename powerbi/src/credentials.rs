//! Data source credentials: the `credentials` JSON string and constructors of the wire
//! [`CredentialDetails`] (cloud, gateway-encrypted, caller identity).
//!
//! The credentials string is built with serde_json, never by string formatting, so quotes,
//! backslashes and non-ASCII in passwords are always escaped correctly (Microsoft's Java and
//! Python samples break on them). For gateway data sources the string is then encrypted with
//! [`super::crypto::encrypt_credentials`]; for cloud data sources it is sent as is.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use zeroize::Zeroizing;

use super::crypto::{CryptoError, encrypt_credentials};
use super::types::{
    CredentialDetails, CredentialType, EncryptedConnection, EncryptionAlgorithm, GatewayPublicKey,
    PrivacyLevel,
};

/// The secret material of one data source credential, by `credentialType`.
pub enum Credential {
    /// `Basic`: user name and password.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: SecretString,
    },
    /// `Windows`: user name (usually `DOMAIN\user`) and password.
    Windows {
        /// The user name.
        username: String,
        /// The password.
        password: SecretString,
    },
    /// `Key`: an account or API key.
    Key(SecretString),
    /// `OAuth2`: an access token for the data source (it expires with the token, ~1 h).
    OAuth2(SecretString),
    /// `SAS`: a shared access signature (blob / ADLS sources only).
    Sas(SecretString),
    /// `Anonymous`: no secret.
    Anonymous,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } | Self::Windows { username, .. } => f
                .debug_struct(self.credential_type().as_str())
                .field("username", username)
                .field("password", &"(redacted)")
                .finish(),
            Self::Anonymous => f.write_str("Anonymous"),
            _ => write!(f, "{}((redacted))", self.credential_type().as_str()),
        }
    }
}

#[derive(Serialize)]
struct NameValue<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct CredentialData<'a> {
    #[serde(rename = "credentialData")]
    credential_data: Vec<NameValue<'a>>,
}

impl Credential {
    /// The wire `credentialType` value.
    #[must_use]
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Self::Basic { .. } => CredentialType::Basic,
            Self::Windows { .. } => CredentialType::Windows,
            Self::Key(_) => CredentialType::Key,
            Self::OAuth2(_) => CredentialType::OAuth2,
            Self::Sas(_) => CredentialType::Sas,
            Self::Anonymous => CredentialType::Anonymous,
        }
    }

    /// The credentials JSON string, for example
    /// `{"credentialData":[{"name":"username","value":"john"},{"name":"password","value":"…"}]}`;
    /// `Anonymous` gives `{"credentialData":""}` as in the REST documentation.
    ///
    /// The result holds the secret in clear, so it is returned in a zeroizing buffer.
    #[must_use]
    pub fn to_json(&self) -> Zeroizing<String> {
        let pairs: Vec<NameValue<'_>> = match self {
            Self::Basic { username, password } | Self::Windows { username, password } => vec![
                NameValue {
                    name: "username",
                    value: username,
                },
                NameValue {
                    name: "password",
                    value: password.expose_secret(),
                },
            ],
            Self::Key(key) => vec![NameValue {
                name: "key",
                value: key.expose_secret(),
            }],
            Self::OAuth2(token) => vec![NameValue {
                name: "accessToken",
                value: token.expose_secret(),
            }],
            Self::Sas(token) => vec![NameValue {
                name: "token",
                value: token.expose_secret(),
            }],
            Self::Anonymous => return anonymous_json(),
        };
        credential_data_json(pairs.iter().map(|p| (p.name, p.value)))
    }
}

/// The credentials JSON of an `Anonymous` credential: `{"credentialData":""}`, as documented.
#[must_use]
pub fn anonymous_json() -> Zeroizing<String> {
    Zeroizing::new(r#"{"credentialData":""}"#.to_owned())
}

/// `{"credentialData":[{"name":…,"value":…},…]}` built by serde_json (so every character is
/// escaped correctly), in a zeroizing buffer because it holds the secrets in clear.
pub fn credential_data_json<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Zeroizing<String> {
    let credential_data: Vec<NameValue<'_>> = pairs
        .into_iter()
        .map(|(name, value)| NameValue { name, value })
        .collect();
    // Serializing a struct of strings cannot fail; fall back to an empty list defensively.
    let json = serde_json::to_string(&CredentialData { credential_data })
        .unwrap_or_else(|_| r#"{"credentialData":[]}"#.to_owned());
    Zeroizing::new(json)
}

impl CredentialDetails {
    /// For a cloud data source: the credentials JSON in clear, `encryptionAlgorithm: "None"`.
    #[must_use]
    pub fn cloud(
        credential_type: CredentialType,
        json: &str,
        encrypted_connection: EncryptedConnection,
        privacy_level: PrivacyLevel,
    ) -> Self {
        Self {
            credential_type,
            credentials: Some(SecretString::from(json.to_owned())),
            encrypted_connection,
            encryption_algorithm: EncryptionAlgorithm::None,
            privacy_level,
            use_caller_aad_identity: None,
            use_end_user_oauth2_credentials: None,
        }
    }

    /// For a data source behind an on-premises gateway: the credentials JSON encrypted with the
    /// gateway key, `encryptionAlgorithm: "RSA-OAEP"`.
    ///
    /// # Errors
    /// [`CryptoError`] when the gateway key is unusable.
    pub fn gateway(
        credential_type: CredentialType,
        json: &str,
        key: &GatewayPublicKey,
        encrypted_connection: EncryptedConnection,
        privacy_level: PrivacyLevel,
    ) -> Result<Self, CryptoError> {
        let ciphertext = encrypt_credentials(json, &key.modulus, &key.exponent)?;
        Ok(Self {
            credentials: Some(SecretString::from(ciphertext)),
            encryption_algorithm: EncryptionAlgorithm::RsaOaep,
            ..Self::cloud(credential_type, "", encrypted_connection, privacy_level)
        })
    }

    /// OAuth2 with the caller's own Entra identity: no `credentials`, `useCallerAADIdentity`.
    #[must_use]
    pub fn caller_identity(
        encrypted_connection: EncryptedConnection,
        privacy_level: PrivacyLevel,
    ) -> Self {
        Self {
            credentials: None,
            use_caller_aad_identity: Some(true),
            ..Self::cloud(
                CredentialType::OAuth2,
                "",
                encrypted_connection,
                privacy_level,
            )
        }
    }

    /// Sets `useEndUserOAuth2Credentials` (send `false` when moving from SSO to Basic/OAuth2).
    #[must_use]
    pub fn with_end_user_oauth2(mut self, value: bool) -> Self {
        self.use_end_user_oauth2_credentials = Some(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn basic_json_matches_the_sdk_byte_for_byte() {
        let c = Credential::Basic {
            username: "user".into(),
            password: secret("pass"),
        };
        assert_eq!(
            c.to_json().as_str(),
            r#"{"credentialData":[{"name":"username","value":"user"},{"name":"password","value":"pass"}]}"#
        );
    }

    #[test]
    fn tricky_characters_are_escaped_and_non_ascii_kept() {
        let c = Credential::Windows {
            username: r"DOMAIN\user".into(),
            password: secret("q\"b\\s'ü"),
        };
        let json = c.to_json();
        assert_eq!(
            json.as_str(),
            r#"{"credentialData":[{"name":"username","value":"DOMAIN\\user"},{"name":"password","value":"q\"b\\s'ü"}]}"#
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["credentialData"][1]["value"], "q\"b\\s'ü");
    }

    #[test]
    fn other_types_use_the_documented_names() {
        assert_eq!(
            Credential::Key(secret("k")).to_json().as_str(),
            r#"{"credentialData":[{"name":"key","value":"k"}]}"#
        );
        assert_eq!(
            Credential::OAuth2(secret("t")).to_json().as_str(),
            r#"{"credentialData":[{"name":"accessToken","value":"t"}]}"#
        );
        assert_eq!(
            Credential::Sas(secret("sp=r")).to_json().as_str(),
            r#"{"credentialData":[{"name":"token","value":"sp=r"}]}"#
        );
        assert_eq!(
            Credential::Anonymous.to_json().as_str(),
            r#"{"credentialData":""}"#
        );
    }

    #[test]
    fn cloud_body_has_the_json_as_a_string_and_none_algorithm() {
        let c = Credential::Basic {
            username: "john".into(),
            password: secret("*****"),
        };
        let d = CredentialDetails::cloud(
            c.credential_type(),
            &c.to_json(),
            EncryptedConnection::Encrypted,
            PrivacyLevel::None,
        )
        .with_end_user_oauth2(false);
        let body = serde_json::to_string(&super::super::types::UpdateDatasourceRequest {
            credential_details: d,
        })
        .unwrap();
        assert_eq!(
            body,
            r#"{"credentialDetails":{"credentialType":"Basic","credentials":"{\"credentialData\":[{\"name\":\"username\",\"value\":\"john\"},{\"name\":\"password\",\"value\":\"*****\"}]}","encryptedConnection":"Encrypted","encryptionAlgorithm":"None","privacyLevel":"None","useEndUserOAuth2Credentials":false}}"#
        );
    }

    #[test]
    fn caller_identity_omits_credentials() {
        let d = CredentialDetails::caller_identity(
            EncryptedConnection::Encrypted,
            PrivacyLevel::Organizational,
        );
        let v = serde_json::to_value(&d).unwrap();
        assert!(v.get("credentials").is_none());
        assert_eq!(v["useCallerAADIdentity"], true);
        assert_eq!(v["credentialType"], "OAuth2");
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Credential::Basic {
            username: "john".into(),
            password: secret("hunter2"),
        };
        let d = CredentialDetails::cloud(
            c.credential_type(),
            &c.to_json(),
            EncryptedConnection::Encrypted,
            PrivacyLevel::None,
        );
        let shown = format!("{c:?} {d:?} {:?}", Credential::Key(secret("hunter2")));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("john"));
    }
}
