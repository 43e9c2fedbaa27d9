//! Data source credentials: the `credentials` JSON string and the `credentialDetails` body.
//!
//! The credentials string is built with serde_json, never by string formatting, so quotes,
//! backslashes and non-ASCII in passwords are always escaped correctly (Microsoft's Java and
//! Python samples break on them). For gateway data sources the string is then encrypted with
//! [`super::crypto::encrypt_credentials`]; for cloud data sources it is sent as is.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::ser::SerializeStruct;
use zeroize::Zeroizing;

use super::crypto::{CryptoError, encrypt_credentials};

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
                .debug_struct(self.credential_type())
                .field("username", username)
                .field("password", &"(redacted)")
                .finish(),
            Self::Anonymous => f.write_str("Anonymous"),
            _ => write!(f, "{}((redacted))", self.credential_type()),
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
    pub fn credential_type(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "Basic",
            Self::Windows { .. } => "Windows",
            Self::Key(_) => "Key",
            Self::OAuth2(_) => "OAuth2",
            Self::Sas(_) => "SAS",
            Self::Anonymous => "Anonymous",
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
            Self::Anonymous => return Zeroizing::new(r#"{"credentialData":""}"#.to_owned()),
        };
        // Serializing a struct of strings cannot fail; fall back to an empty list defensively.
        let json = serde_json::to_string(&CredentialData {
            credential_data: pairs,
        })
        .unwrap_or_else(|_| r#"{"credentialData":[]}"#.to_owned());
        Zeroizing::new(json)
    }
}

/// `encryptedConnection`: whether the connection *to the data source* is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptedConnection {
    /// `Encrypted` (required for Create Datasource).
    Encrypted,
    /// `NotEncrypted`.
    NotEncrypted,
}

impl EncryptedConnection {
    fn as_str(self) -> &'static str {
        match self {
            Self::Encrypted => "Encrypted",
            Self::NotEncrypted => "NotEncrypted",
        }
    }
}

/// `privacyLevel` of the data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacyLevel {
    /// `None`.
    None,
    /// `Public`.
    Public,
    /// `Organizational`.
    Organizational,
    /// `Private`.
    Private,
}

impl PrivacyLevel {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Public => "Public",
            Self::Organizational => "Organizational",
            Self::Private => "Private",
        }
    }
}

/// The gateway public key (`publicKey` of `GET gateways/{id}`), both parts standard base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPublicKey {
    /// Base64 of the big-endian modulus.
    pub modulus: String,
    /// Base64 of the big-endian exponent (usually `AQAB`).
    pub exponent: String,
}

/// A `credentialDetails` object, ready to send. Its `Debug` never shows the credentials;
/// its `Serialize` writes the wire form (camelCase, optional flags omitted when unset).
pub struct CredentialDetails {
    credential_type: &'static str,
    credentials: Option<Zeroizing<String>>,
    encrypted_connection: EncryptedConnection,
    encryption_algorithm: &'static str,
    privacy_level: PrivacyLevel,
    use_caller_aad_identity: Option<bool>,
    use_end_user_oauth2_credentials: Option<bool>,
}

impl CredentialDetails {
    /// For a cloud data source: the credentials JSON in clear, `encryptionAlgorithm: "None"`.
    #[must_use]
    pub fn cloud(
        credential: &Credential,
        encrypted_connection: EncryptedConnection,
        privacy_level: PrivacyLevel,
    ) -> Self {
        Self {
            credential_type: credential.credential_type(),
            credentials: Some(credential.to_json()),
            encrypted_connection,
            encryption_algorithm: "None",
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
        credential: &Credential,
        key: &GatewayPublicKey,
        encrypted_connection: EncryptedConnection,
        privacy_level: PrivacyLevel,
    ) -> Result<Self, CryptoError> {
        let plaintext = credential.to_json();
        let ciphertext = encrypt_credentials(&plaintext, &key.modulus, &key.exponent)?;
        Ok(Self {
            credential_type: credential.credential_type(),
            credentials: Some(Zeroizing::new(ciphertext)),
            encrypted_connection,
            encryption_algorithm: "RSA-OAEP",
            privacy_level,
            use_caller_aad_identity: None,
            use_end_user_oauth2_credentials: None,
        })
    }

    /// OAuth2 with the caller's own Entra identity: no `credentials`, `useCallerAADIdentity`.
    #[must_use]
    pub fn caller_identity(
        encrypted_connection: EncryptedConnection,
        privacy_level: PrivacyLevel,
    ) -> Self {
        Self {
            credential_type: "OAuth2",
            credentials: None,
            encrypted_connection,
            encryption_algorithm: "None",
            privacy_level,
            use_caller_aad_identity: Some(true),
            use_end_user_oauth2_credentials: None,
        }
    }

    /// Sets `useEndUserOAuth2Credentials` (send `false` when moving from SSO to Basic/OAuth2).
    #[must_use]
    pub fn with_end_user_oauth2(mut self, value: bool) -> Self {
        self.use_end_user_oauth2_credentials = Some(value);
        self
    }

    /// The wire `credentialType`.
    #[must_use]
    pub fn credential_type(&self) -> &'static str {
        self.credential_type
    }

    /// The wire `encryptionAlgorithm` (`None` or `RSA-OAEP`).
    #[must_use]
    pub fn encryption_algorithm(&self) -> &'static str {
        self.encryption_algorithm
    }

    /// The PATCH body of Update Datasource: `{"credentialDetails": {...}}`.
    #[must_use]
    pub fn as_update_body(&self) -> UpdateDatasourceBody<'_> {
        UpdateDatasourceBody {
            credential_details: self,
        }
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

impl Serialize for CredentialDetails {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CredentialDetails", 7)?;
        s.serialize_field("credentialType", self.credential_type)?;
        if let Some(credentials) = &self.credentials {
            s.serialize_field("credentials", credentials.as_str())?;
        }
        s.serialize_field("encryptedConnection", self.encrypted_connection.as_str())?;
        s.serialize_field("encryptionAlgorithm", self.encryption_algorithm)?;
        s.serialize_field("privacyLevel", self.privacy_level.as_str())?;
        if let Some(v) = self.use_caller_aad_identity {
            s.serialize_field("useCallerAADIdentity", &v)?;
        }
        if let Some(v) = self.use_end_user_oauth2_credentials {
            s.serialize_field("useEndUserOAuth2Credentials", &v)?;
        }
        s.end()
    }
}

/// `{"credentialDetails": {...}}`, the body of `PATCH gateways/{g}/datasources/{d}`.
#[derive(Debug, Serialize)]
pub struct UpdateDatasourceBody<'a> {
    /// The details.
    #[serde(rename = "credentialDetails")]
    pub credential_details: &'a CredentialDetails,
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
        let d = CredentialDetails::cloud(&c, EncryptedConnection::Encrypted, PrivacyLevel::None)
            .with_end_user_oauth2(false);
        let body = serde_json::to_string(&d.as_update_body()).unwrap();
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
        let d = CredentialDetails::cloud(&c, EncryptedConnection::Encrypted, PrivacyLevel::None);
        let shown = format!("{c:?} {d:?} {:?}", Credential::Key(secret("hunter2")));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("john"));
    }
}
