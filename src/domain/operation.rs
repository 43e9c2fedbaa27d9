//! What the executor sends for each change, plus the small value types shared by the desired
//! model, the plan and the ledger (principals, roles, credentials by reference, schedules).
//!
//! Operations name things (workspace, dataset and report names) instead of ids: ids of items
//! created earlier in the same apply are only known then, and identity is by name anyway.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::secret_ref::SecretRef;

/// A workspace item by workspace name and item name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemRef {
    pub workspace: String,
    pub name: String,
}

/// A principal that can hold a workspace role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// UPN/email for users; object id for groups and apps (service principals).
    pub identifier: String,
    pub principal_type: PrincipalType,
}

/// The kinds of principal the Groups API knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PrincipalType {
    User,
    Group,
    App,
}

/// Workspace roles, weakest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WorkspaceRole {
    Admin,
    Member,
    Contributor,
    Viewer,
}

/// A data source as the Datasets API reports it: type plus connection details.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DatasourceRef {
    /// `Sql`, `OData`, `Extension`, ... (compared case-insensitively).
    pub datasource_type: String,
    /// `server`, `database`, `url`, `path`, ... (values compared case-insensitively).
    pub connection_details: BTreeMap<String, String>,
}

impl DatasourceRef {
    /// Whether `self`, as a rule, selects `actual`: its type (any when empty) and every
    /// detail it lists, ignoring case ([`super::source_match::selects`], the one
    /// definition validate applies too). Plan and apply both ask this, so apply acts on
    /// exactly the sources the plan showed.
    pub fn matches(&self, actual: &DatasourceRef) -> bool {
        super::source_match::selects(
            &self.datasource_type,
            self.connection_details
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
            &actual.datasource_type,
            actual
                .connection_details
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

impl fmt::Display for DatasourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.datasource_type)?;
        let details: Vec<String> = self
            .connection_details
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !details.is_empty() {
            write!(f, " {}", details.join(";"))?;
        }
        Ok(())
    }
}

/// A gateway as the manifest names it: by id, or by name to be looked up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayRef {
    Id(String),
    Name(String),
}

impl fmt::Display for GatewayRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) | Self::Name(id) => f.write_str(id),
        }
    }
}

/// One credential field's value: plain text (e.g. a username) or a secret reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialValue {
    Plain(String),
    Secret(SecretRef),
}

/// Credential types of the Gateways Update Datasource API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CredentialType {
    Basic,
    Windows,
    Anonymous,
    OAuth2,
    Key,
    SAS,
    ServicePrincipal,
}

/// Privacy levels of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PrivacyLevel {
    None,
    Public,
    Organizational,
    Private,
}

/// Everything apply needs to set one data source's credentials, with secrets by reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSpec {
    pub credential_type: CredentialType,
    /// Named fields in wire order, e.g. `username` (plain) and `password` (secret reference).
    pub fields: Vec<(String, CredentialValue)>,
    /// OAuth2 with the caller's own Entra identity (no secret fields).
    #[serde(default)]
    pub use_caller_identity: bool,
    pub privacy_level: PrivacyLevel,
    /// Ask for an encrypted (TLS) connection to the source.
    pub encrypted_connection: bool,
    /// DirectQuery SSO with the end user's identity.
    #[serde(default)]
    pub sso: bool,
}

impl CredentialSpec {
    /// The settings that are not secret, as the plan shows them and the ledger records them:
    /// `credential_type`, each plain field (e.g. `username`), `privacy_level`,
    /// `encrypted_connection`, `sso` and `caller_identity`. Comparing these with the ledger
    /// finds a changed privacy level or user name, which the secret's fingerprint cannot.
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut m = serde_json::Map::new();
        m.insert(
            "credential_type".into(),
            json!(format!("{:?}", self.credential_type)),
        );
        for (name, value) in &self.fields {
            if let CredentialValue::Plain(v) = value {
                m.insert(name.clone(), json!(v));
            }
        }
        m.insert(
            "privacy_level".into(),
            json!(format!("{:?}", self.privacy_level)),
        );
        m.insert(
            "encrypted_connection".into(),
            json!(self.encrypted_connection),
        );
        m.insert("sso".into(), json!(self.sso));
        m.insert("caller_identity".into(), json!(self.use_caller_identity));
        m
    }

    /// The secret references this credential needs, for error messages and plan display.
    pub fn secret_references(&self) -> Vec<&SecretRef> {
        self.fields
            .iter()
            .filter_map(|(_, v)| match v {
                CredentialValue::Secret(r) => Some(r),
                CredentialValue::Plain(_) => None,
            })
            .collect()
    }
}

/// A refresh schedule, in the service's vocabulary. With `frequency` it is a DirectQuery /
/// LiveConnection schedule (`directQueryRefreshSchedule`), else an import one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshSchedule {
    pub enabled: bool,
    /// `Monday` ... `Sunday`.
    pub days: Vec<String>,
    /// `HH:mm`, 24-hour.
    pub times: Vec<String>,
    /// A Windows time-zone id, e.g. `UTC`.
    pub time_zone: String,
    /// Import schedules: `NoNotification` or `MailOnFailure` (service principals may only
    /// use `NoNotification`).
    #[serde(default = "no_notification")]
    pub notify_option: String,
    /// DirectQuery schedules: minutes between cache refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<u32>,
}

fn no_notification() -> String {
    "NoNotification".to_string()
}

/// The day names the service (and the manifest) use, Monday first.
pub const WEEK: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl RefreshSchedule {
    /// Whether the live schedule `have` already is this one, as the service stores it: a
    /// disabled schedule matches any disabled one (the service keeps its old days and times),
    /// days and times compare as sets, names case-insensitively; a DirectQuery schedule
    /// compares its frequency and time zone.
    pub fn matches(&self, have: &RefreshSchedule) -> bool {
        let tz = self.time_zone.eq_ignore_ascii_case(&have.time_zone);
        if let Some(f) = self.frequency {
            return have.frequency == Some(f) && tz;
        }
        if !self.enabled {
            return !have.enabled && have.frequency.is_none();
        }
        have.enabled
            && have.frequency.is_none()
            && tz
            && self.notify_option.eq_ignore_ascii_case(&have.notify_option)
            && day_set(&self.days) == day_set(&have.days)
            && time_set(&self.times) == time_set(&have.times)
    }
}

fn day_set(days: &[String]) -> Vec<usize> {
    let mut v: Vec<usize> = days
        .iter()
        .filter_map(|d| WEEK.iter().position(|w| w.eq_ignore_ascii_case(d)))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn time_set(times: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = times.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A credential rule for gateway data sources created at apply time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewaySourceRule {
    /// Which data sources it is for (same type, listed details equal).
    pub matches: DatasourceRef,
    pub credentials: CredentialSpec,
}

/// How the executor imports a PBIX.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSpec {
    /// Where the dataset or report goes.
    pub target: ItemRef,
    /// PBIX path as the manifest gave it (relative to the manifest's directory).
    pub pbix_path: String,
    /// SHA-256 of the PBIX the plan was made with; apply refuses if the file changed.
    pub pbix_sha256: String,
    /// True when the item already exists: import with `CreateOrOverwrite` (keeps ids);
    /// false for a first import (`Abort` so an unexpected duplicate is refused).
    pub overwrite: bool,
    /// Dataset PBIX whose report is not wanted (`skipReport=true`).
    #[serde(default)]
    pub skip_report: bool,
    /// Thin reports: the dataset the report's connection must point at before import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_to: Option<ItemRef>,
}

/// The service calls behind a change. Exactly one per change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Operation {
    /// `POST groups?workspaceV2=True`.
    CreateWorkspace { workspace: String },
    /// `POST groups/{id}/AssignToCapacity` then poll; `None` = back to shared capacity.
    AssignCapacity {
        workspace: String,
        capacity_id: Option<String>,
    },
    /// `POST` (new) or `PUT` (existing principal) `groups/{id}/users`.
    SetAccess {
        workspace: String,
        principal: Principal,
        role: WorkspaceRole,
        existing: bool,
    },
    /// `DELETE groups/{id}/users/{identifier}`.
    RemoveAccess {
        workspace: String,
        principal: Principal,
    },
    /// `POST groups/{id}/imports` and poll until done.
    Import(ImportSpec),
    /// A Power BI Project item through the Fabric items API: `POST workspaces/{id}/items`
    /// with its definition, or `updateDefinition`; long-running operations waited for.
    Definition(crate::domain::project::DefinitionSpec),
    /// `DELETE groups/{id}/datasets/{id}` (prune).
    DeleteDataset { dataset: ItemRef },
    /// `DELETE groups/{id}/reports/{id}` (prune).
    DeleteReport { report: ItemRef },
    /// `POST .../Default.TakeOver`.
    TakeOver { dataset: ItemRef },
    /// `POST .../Default.UpdateParameters` with these values (names case-sensitive).
    UpdateParameters {
        dataset: ItemRef,
        values: BTreeMap<String, String>,
    },
    /// `POST .../Default.UpdateDatasources`.
    UpdateDatasources {
        dataset: ItemRef,
        updates: Vec<DatasourceUpdate>,
    },
    /// `POST .../Default.SetAllConnections`.
    SetAllConnections {
        dataset: ItemRef,
        connection_string: String,
    },
    /// `POST gateways/{id}/datasources` (credentials encrypted with the gateway's key).
    CreateGatewayDatasource {
        gateway: GatewayRef,
        datasource: DatasourceRef,
        datasource_name: String,
        credentials: CredentialSpec,
    },
    /// `POST .../Default.BindToGateway` (the service matches gateway data sources itself).
    BindToGateway {
        dataset: ItemRef,
        gateway: GatewayRef,
        /// When the dataset's data sources are not known before apply (it is imported in
        /// this plan) and the manifest asks to create gateway data sources: the credential
        /// rules to create, before binding, each data source the dataset then has that the
        /// gateway lacks (the first rule that matches it gives the credentials).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        create_missing: Vec<GatewaySourceRule>,
    },
    /// `PATCH gateways/{gw}/datasources/{ds}` for each of the dataset's data sources that
    /// `datasource` matches (same type, listed details equal), looked up at apply time;
    /// encrypted with the gateway key when the data source sits on an on-premises gateway.
    SetCredentials {
        dataset: ItemRef,
        datasource: DatasourceRef,
        credentials: CredentialSpec,
    },
    /// `POST .../refreshes` (`NoNotification`).
    Refresh { dataset: ItemRef },
    /// `PATCH .../refreshSchedule` with the whole schedule.
    SetRefreshSchedule {
        dataset: ItemRef,
        schedule: RefreshSchedule,
    },
    /// `POST reports/{id}/Rebind` to the dataset (possibly in another workspace).
    Rebind { report: ItemRef, dataset: ItemRef },
}

/// One re-pointing of Update Datasources: which data sources it applies to and their new details.
///
/// The executor re-reads the dataset's data sources at apply time (a re-import just before may
/// have changed them) and sends, for each one `matches` selects, that data source exactly as the
/// service reports it as the selector (the API requires an exact match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasourceUpdate {
    /// The manifest rule's `match`: same type and every listed connection detail equal
    /// (case-insensitive); other details free. The ledger records updates under it.
    pub matches: DatasourceRef,
    /// The new connection details.
    pub connection_details: BTreeMap<String, String>,
    /// The live data source to re-point when it is not `matches` any more: an earlier apply
    /// re-pointed it to the details it has now, and the manifest changed the target since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<DatasourceRef>,
}

impl DatasourceUpdate {
    /// What selects the live data sources to re-point.
    pub fn selects(&self) -> &DatasourceRef {
        self.selector.as_ref().unwrap_or(&self.matches)
    }
}

#[cfg(test)]
mod match_tests {
    use super::DatasourceRef;
    use std::collections::BTreeMap;

    fn ds(kind: &str, server: &str) -> DatasourceRef {
        DatasourceRef {
            datasource_type: kind.to_string(),
            connection_details: BTreeMap::from([("server".to_string(), server.to_string())]),
        }
    }

    #[test]
    fn a_rule_without_type_matches_any_type_but_still_checks_details() {
        assert!(ds("", "srv").matches(&ds("Sql", "SRV")));
        assert!(!ds("", "other").matches(&ds("Sql", "srv")));
        assert!(!ds("OData", "srv").matches(&ds("Sql", "srv")));
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::RefreshSchedule;

    fn import(days: &[&str], times: &[&str]) -> RefreshSchedule {
        RefreshSchedule {
            enabled: true,
            days: days.iter().map(|d| d.to_string()).collect(),
            times: times.iter().map(|t| t.to_string()).collect(),
            time_zone: "UTC".into(),
            notify_option: "NoNotification".into(),
            frequency: None,
        }
    }

    #[test]
    fn days_and_times_compare_as_sets_and_names_ignore_case() {
        let want = import(&["Monday", "Friday"], &["06:00", "12:30"]);
        assert!(want.matches(&import(&["friday", "Monday"], &["12:30", "06:00"])));
        assert!(!want.matches(&import(&["Monday"], &["06:00", "12:30"])));
        assert!(!want.matches(&import(&["Monday", "Friday"], &["06:00"])));
        let mut tz = import(&["Monday", "Friday"], &["06:00", "12:30"]);
        tz.time_zone = "W. Europe Standard Time".into();
        assert!(!want.matches(&tz));
        let mut mail = want.clone();
        mail.notify_option = "MailOnFailure".into();
        assert!(!mail.matches(&want));
    }

    #[test]
    fn a_disabled_schedule_matches_any_disabled_one() {
        let mut want = import(&[], &[]);
        want.enabled = false;
        let mut have = import(&["Sunday"], &["05:00"]);
        have.enabled = false;
        assert!(want.matches(&have));
        assert!(!want.matches(&import(&["Sunday"], &["05:00"])));
    }

    #[test]
    fn a_direct_query_schedule_compares_its_frequency() {
        let mut want = import(&[], &[]);
        want.frequency = Some(30);
        let mut have = want.clone();
        assert!(want.matches(&have));
        have.frequency = Some(60);
        assert!(!want.matches(&have));
        assert!(!want.matches(&import(&["Monday"], &["06:00"])));
    }
}
