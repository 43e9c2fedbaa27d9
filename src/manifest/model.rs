//! Manifest v1 types. The same types describe the file as written and, after `load`, the
//! resolved manifest for one environment (interpolated, overridden, with absolute paths).
//! They derive `JsonSchema`: `schemas/pbideploy.schema.json` is generated from them, so the
//! editor schema and the loader can never disagree.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::domain::secret_ref::SecretRef;

/// Where an item was written in the manifest (1-based line and column), so plan and apply
/// errors can point at it. `line == 0` means unknown (for example an item made by an override).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub line: u64,
    pub column: u64,
}

/// A whole manifest file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "pbideploy manifest v1")]
pub struct Manifest {
    /// Format version; only `pbideploy/v1` exists.
    pub api_version: ApiVersion,
    /// Which Power BI cloud to talk to; the public cloud when omitted.
    #[serde(default)]
    pub service: Option<Service>,
    /// Values for `${name}` in string fields. `--var` and the environment's variables win.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Named environments picked with `--env NAME`: variables and overrides per environment.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// Where the ledger lives; a file beside the manifest when omitted.
    #[serde(default)]
    pub state: Option<State>,
    /// The workspaces pbideploy manages.
    pub workspaces: Vec<Workspace>,
}

/// The format version tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "pbideploy/v1")]
    V1,
}

/// A Power BI cloud: either a named national cloud or explicit URLs (for example an emulator).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// A named cloud; mutually exclusive with `apiUrl`/`authorityUrl`.
    #[serde(default)]
    pub cloud: Option<Cloud>,
    /// Base URL of the REST API, e.g. `https://api.powerbi.com` or `http://127.0.0.1:8080`.
    #[serde(default)]
    pub api_url: Option<String>,
    /// Entra ID authority host, e.g. `https://login.microsoftonline.com`.
    #[serde(default)]
    pub authority_url: Option<String>,
    /// Entra tenant (id or domain); AZURE_TENANT_ID is used when omitted.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// Where the ledger (state) lives, so that pipelines on throw-away agents and several
/// engineers share one, locked while a run writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    /// `azblob://ACCOUNT/CONTAINER[/PATH]`, an account URL (sovereign clouds, Azurite), or
    /// `file:PATH` (relative to the manifest's folder). A blob name left out or ending in `/`
    /// gets the default file name (`<manifest>.<env>.pbideploy-state.json`).
    #[schemars(length(min = 1))]
    pub url: String,
    /// A storage connection string or SAS token, as a secret reference; without it, Entra ID
    /// (the identity needs the Storage Blob Data Contributor role).
    #[serde(default)]
    pub credential: Option<SecretRef>,
    /// How long a lock lasts unless renewed (a running pbideploy renews it): 15-60 seconds,
    /// 60 by default. A killed run blocks others at most this long.
    #[serde(default)]
    #[schemars(range(min = 15, max = 60))]
    pub lease_seconds: Option<u32>,
}

/// The national clouds Power BI runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Public,
    Usgov,
    Usgovhigh,
    Usdod,
    China,
}

/// One environment: its variables and overrides of the base manifest.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// Variables for this environment; they win over top-level `variables`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Replaces the top-level `service` for this environment.
    #[serde(default)]
    pub service: Option<Service>,
    /// Replaces the top-level `state` for this environment.
    #[serde(default)]
    pub state: Option<State>,
    /// Overrides keyed by the workspace `name` as written in `workspaces[]`.
    #[serde(default)]
    pub workspaces: BTreeMap<String, WorkspaceOverride>,
}

/// Per-environment changes to one workspace; fields left out keep the base value.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceOverride {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub create: Option<bool>,
    #[serde(default)]
    pub capacity: Option<String>,
    #[serde(default)]
    pub prune: Option<bool>,
    /// Replaces the whole `access` list.
    #[serde(default)]
    pub access: Option<Vec<Access>>,
}

/// A workspace (group), identified by name, case-insensitively.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workspace {
    #[schemars(length(min = 1))]
    pub name: String,
    /// Create the workspace when it does not exist (otherwise a missing workspace is an error).
    #[serde(default)]
    pub create: bool,
    /// Capacity id to assign the workspace to.
    #[serde(default)]
    pub capacity: Option<String>,
    /// Role assignments pbideploy keeps in place.
    #[serde(default)]
    pub access: Vec<Access>,
    /// Delete datasets and reports pbideploy manages here that the manifest no longer lists.
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub datasets: Vec<Dataset>,
    #[serde(default)]
    pub reports: Vec<Report>,
    #[serde(skip)]
    pub span: Span,
}

/// One role assignment on a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Access {
    /// UPN for users, object id for groups and apps.
    #[schemars(length(min = 1))]
    pub principal: String,
    pub principal_type: PrincipalType,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum PrincipalType {
    User,
    Group,
    App,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
pub enum Role {
    Admin,
    Member,
    Contributor,
    Viewer,
}

/// A dataset (semantic model) imported from a PBIX or deployed from a Power BI Project
/// folder: exactly one of `pbix` and `project` (checked by `load`, which says which is missing).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dataset {
    #[schemars(length(min = 1))]
    pub name: String,
    /// PBIX path relative to the manifest; after `load`, absolute and canonical.
    #[serde(default)]
    pub pbix: Option<PathBuf>,
    /// `*.SemanticModel` folder of a Power BI Project, relative to the manifest; after
    /// `load`, absolute and canonical. Deployed through the Fabric items API.
    #[serde(default)]
    pub project: Option<PathBuf>,
    /// Let an update of a `project` model drop tables or columns of Import tables (their
    /// data is lost and must be reloaded); without it `apply` refuses such an update.
    #[serde(default)]
    pub allow_data_loss: bool,
    /// Take over the dataset before changing it (needed when someone else owns it).
    #[serde(default)]
    pub takeover: bool,
    /// M parameter values (UpdateParameters), sent as text: a number exactly as written
    /// (`01234` stays `01234`), `true` as `TRUE`.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterValue>,
    /// Re-pointing rules (UpdateDatasources).
    #[serde(default)]
    pub datasources: Vec<DatasourceRule>,
    /// SetAllConnections, for legacy DirectQuery and live-connection datasets.
    #[serde(default)]
    pub connection_string: Option<String>,
    /// Bind the dataset to an on-premises gateway.
    #[serde(default)]
    pub gateway: Option<GatewayRef>,
    /// Credentials for the dataset's data sources, first matching rule wins.
    #[serde(default)]
    pub credentials: Vec<CredentialRule>,
    #[serde(default)]
    pub refresh: Option<Refresh>,
    #[serde(skip)]
    pub span: Span,
}

/// A parameter value as written; the service takes every value as text.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ParameterValue {
    Text(String),
    Number(serde_json::Number),
    Logical(bool),
}

impl ParameterValue {
    /// The text sent to UpdateParameters (`true`/`false` become `TRUE`/`FALSE` as Power BI shows them).
    pub fn to_wire(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(number) => number.to_string(),
            Self::Logical(true) => "TRUE".to_owned(),
            Self::Logical(false) => "FALSE".to_owned(),
        }
    }
}

/// Connection details as the service reports them; only the fields the source type uses are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionDetails {
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub login_server: Option<String>,
    #[serde(default)]
    pub class_info: Option<String>,
}

impl ConnectionDetails {
    /// The set fields as (wire name, value) pairs, in a stable order.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let all = [
            ("server", &self.server),
            ("database", &self.database),
            ("url", &self.url),
            ("path", &self.path),
            ("kind", &self.kind),
            ("account", &self.account),
            ("domain", &self.domain),
            ("emailAddress", &self.email_address),
            ("loginServer", &self.login_server),
            ("classInfo", &self.class_info),
        ];
        all.into_iter()
            .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
            .collect()
    }

    /// True when every field set in `self` has the same value (case-insensitive) in `other`.
    pub fn is_subset_of(&self, other: &ConnectionDetails) -> bool {
        let theirs = other.fields();
        self.fields().iter().all(|(name, value)| {
            theirs
                .iter()
                .any(|(n, v)| n == name && v.eq_ignore_ascii_case(value))
        })
    }
}

/// A data-source re-pointing rule: the source matching `match` gets `set`'s connection details.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatasourceRule {
    #[serde(rename = "match")]
    pub matches: DatasourceMatch,
    pub set: DatasourceSet,
    #[serde(skip)]
    pub span: Span,
}

/// Selects a data source by type (e.g. `Sql`) and connection details (all given must match).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatasourceMatch {
    /// Datasource type as the service reports it: Sql, OData, SharePointList, Extension, File, ...
    #[serde(default, rename = "type")]
    pub datasource_type: Option<String>,
    #[serde(default)]
    pub connection_details: ConnectionDetails,
}

/// The new connection details of a re-pointed source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatasourceSet {
    pub connection_details: ConnectionDetails,
}

/// An on-premises gateway, by id or by name (exactly one).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayRef {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Create missing gateway data sources for the dataset's sources (needs gateway admin).
    #[serde(default)]
    pub create_datasources: bool,
}

/// Credentials for the data sources matching `match`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialRule {
    #[serde(rename = "match", default)]
    pub matches: DatasourceMatch,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// For Basic and Windows (`DOMAIN\user`).
    #[serde(default)]
    pub username: Option<String>,
    /// For Basic and Windows.
    #[serde(default)]
    pub password: Option<SecretRef>,
    /// For Key.
    #[serde(default)]
    pub key: Option<SecretRef>,
    /// For OAuth2 (an access token), unless `sso` is set.
    #[serde(default)]
    pub token: Option<SecretRef>,
    #[serde(default)]
    pub privacy_level: PrivacyLevel,
    #[serde(default)]
    pub encrypted_connection: EncryptedConnection,
    /// Use the end user's identity for DirectQuery (OAuth2 only).
    #[serde(default)]
    pub sso: bool,
    #[serde(skip)]
    pub span: Span,
}

impl CredentialRule {
    /// The fields that hold a [`SecretRef`], by their manifest name. Schema errors and `${var}`
    /// interpolation work on the raw YAML tree before it is typed, and find secret fields by
    /// these names (a test checks them against this struct's schema).
    pub const SECRET_FIELDS: [&'static str; 3] = ["password", "key", "token"];

    /// Each secret field with its manifest name, in [`Self::SECRET_FIELDS`] order.
    pub fn secrets(&self) -> [(&'static str, Option<&SecretRef>); 3] {
        [
            ("password", self.password.as_ref()),
            ("key", self.key.as_ref()),
            ("token", self.token.as_ref()),
        ]
    }

    /// [`Self::secrets`], mutable (load rewrites file paths).
    pub fn secrets_mut(&mut self) -> [(&'static str, &mut Option<SecretRef>); 3] {
        [
            ("password", &mut self.password),
            ("key", &mut self.key),
            ("token", &mut self.token),
        ]
    }

    /// Whether the raw-tree field `key` of the object at JSON pointer `parent` is a secret
    /// field: `parent` is a credential rule (`.../credentials/<index>`) and `key` one of
    /// [`Self::SECRET_FIELDS`].
    pub fn is_secret_field(parent: &str, key: &str) -> bool {
        let mut up = parent.rsplit('/');
        let index = up.next().unwrap_or("");
        Self::SECRET_FIELDS.contains(&key)
            && !index.is_empty()
            && index.bytes().all(|b| b.is_ascii_digit())
            && up.next() == Some("credentials")
    }

    /// [`Self::is_secret_field`] for a full pointer (`.../credentials/<index>/<key>`).
    pub fn is_secret_pointer(pointer: &str) -> bool {
        pointer
            .rsplit_once('/')
            .is_some_and(|(parent, key)| Self::is_secret_field(parent, key))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum CredentialType {
    Basic,
    Windows,
    OAuth2,
    Key,
    Anonymous,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum PrivacyLevel {
    None,
    Public,
    #[default]
    Organizational,
    Private,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum EncryptedConnection {
    #[default]
    Encrypted,
    NotEncrypted,
}

/// What refresh pbideploy runs and keeps scheduled.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Refresh {
    #[serde(default)]
    pub on_apply: OnApply,
    #[serde(default)]
    pub schedule: Option<Schedule>,
}

/// Whether `apply` triggers a refresh; `whenChanged` refreshes when the PBIX, parameters,
/// data sources or credentials changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnApply {
    Always,
    Never,
    #[default]
    WhenChanged,
}

/// A refresh schedule. Import models use days + times; DirectQuery models may use `frequency`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    #[serde(default)]
    pub days: Vec<Day>,
    /// `HH:mm`, 24-hour, on the hour or half hour.
    #[serde(default)]
    pub times: Vec<ScheduleTime>,
    /// Windows time-zone id, e.g. `UTC`, `W. Europe Standard Time`.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub notify_option: NotifyOption,
    /// DirectQuery/LiveConnection cache refresh every N minutes (15, 30, 60, 120, 180).
    #[serde(default)]
    pub frequency: Option<Frequency>,
}

/// A schedule time `HH:mm`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ScheduleTime(#[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):(00|30)$"))] pub String);

/// A DirectQuery refresh frequency in minutes: the service takes 15, 30, 60, 120 or 180.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Frequency(#[schemars(extend("enum" = [15, 30, 60, 120, 180]))] pub u32);

fn default_time_zone() -> String {
    "UTC".to_owned()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum NotifyOption {
    #[default]
    NoNotification,
    MailOnFailure,
}

/// A thin report, imported from a PBIX or deployed from a Power BI Project folder (exactly
/// one of `pbix` and `project`), bound to a dataset.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Report {
    #[schemars(length(min = 1))]
    pub name: String,
    /// PBIX path relative to the manifest; after `load`, absolute and canonical.
    #[serde(default)]
    pub pbix: Option<PathBuf>,
    /// `*.Report` folder of a Power BI Project, relative to the manifest; after `load`,
    /// absolute and canonical.
    #[serde(default)]
    pub project: Option<PathBuf>,
    /// `Dataset` in the same workspace, or `Workspace/Dataset` in another. A `project`
    /// report bound `byPath` in its `definition.pbir` may leave it out: the dataset whose
    /// `project` is that folder is used.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub dataset: Option<String>,
    /// Filled by `load`: the dataset this report binds to.
    #[serde(skip)]
    pub target: DatasetRef,
    /// Filled by `load` for a `project` report bound `byPath`: the model folder it names
    /// (absolute, canonical).
    #[serde(skip)]
    pub by_path: Option<PathBuf>,
    #[serde(skip)]
    pub span: Span,
}

/// Where an item's content comes from, once `load` has checked that exactly one is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// A PBIX file, deployed through the Power BI imports API.
    Pbix(&'a std::path::Path),
    /// A Power BI Project item folder, deployed through the Fabric items API.
    Project(&'a std::path::Path),
}

fn source<'a>(pbix: &'a Option<PathBuf>, project: &'a Option<PathBuf>) -> Option<Source<'a>> {
    match (pbix, project) {
        (Some(path), None) => Some(Source::Pbix(path)),
        (None, Some(path)) => Some(Source::Project(path)),
        _ => None,
    }
}

impl Dataset {
    /// The dataset's content; `None` only before `load` has checked the manifest.
    pub fn source(&self) -> Option<Source<'_>> {
        source(&self.pbix, &self.project)
    }
}

impl Report {
    /// The report's content; `None` only before `load` has checked the manifest.
    pub fn source(&self) -> Option<Source<'_>> {
        source(&self.pbix, &self.project)
    }
}

/// A dataset named by workspace and dataset name, as resolved by `load`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatasetRef {
    pub workspace: String,
    pub dataset: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_the_credential_rule_fields_typed_as_secret_refs() {
        let schema: serde_json::Value =
            serde_json::from_str(&crate::manifest::schema::generate()).unwrap();
        let properties = schema["$defs"]["CredentialRule"]["properties"]
            .as_object()
            .unwrap();
        let mut typed: Vec<&str> = properties
            .iter()
            .filter(|(_, p)| p.to_string().contains("#/$defs/SecretRef"))
            .map(|(name, _)| name.as_str())
            .collect();
        typed.sort_unstable();
        let mut named = CredentialRule::SECRET_FIELDS.to_vec();
        named.sort_unstable();
        assert_eq!(typed, named);
    }

    #[test]
    fn secret_fields_are_found_by_their_place_in_the_tree() {
        let c = "/workspaces/0/datasets/1/credentials/2";
        assert!(CredentialRule::is_secret_field(c, "password"));
        assert!(CredentialRule::is_secret_pointer(&format!("{c}/token")));
        assert!(!CredentialRule::is_secret_field(c, "username"));
        assert!(!CredentialRule::is_secret_pointer(&format!(
            "{c}/match/key"
        )));
        assert!(!CredentialRule::is_secret_pointer(
            "/variables/credentials/password"
        ));
    }

    #[test]
    fn parameter_values_are_sent_as_text() {
        assert_eq!(ParameterValue::Logical(true).to_wire(), "TRUE");
        assert_eq!(ParameterValue::Number(42.into()).to_wire(), "42");
        assert_eq!(ParameterValue::Text("x".into()).to_wire(), "x");
    }

    #[test]
    fn connection_details_match_as_a_case_insensitive_subset() {
        let want = ConnectionDetails {
            server: Some("SQL01".into()),
            ..Default::default()
        };
        let have = ConnectionDetails {
            server: Some("sql01".into()),
            database: Some("Sales".into()),
            ..Default::default()
        };
        assert!(want.is_subset_of(&have));
        assert!(!have.is_subset_of(&want));
    }
}
