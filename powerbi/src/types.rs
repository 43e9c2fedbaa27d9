//! Wire types of the Power BI REST API, decoded the lenient way the real service needs:
//! camelCase with the PascalCase aliases seen in the wild, unknown fields ignored, missing
//! fields defaulted (so empty `200` bodies decode), and enums open to new values.
//!
//! IDs are kept as strings: the service mixes upper- and lower-case GUIDs, so compare them
//! with [`same_id`].

use serde::{Deserialize, Serialize};

mod datasets;
mod gateways;

pub use datasets::*;
pub use gateways::*;

/// Compares two GUIDs the way the service does: case-insensitively.
pub fn same_id(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Declares an open enum: known variants with their documented spelling plus `Other(String)`
/// for values the service adds later. Parsing ignores case; serialising uses the documented
/// spelling.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this version does not know.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }

            /// Parses case-insensitively; unknown values become `Other`.
            pub fn parse(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($wire) { return Self::$variant; })+
                Self::Other(s.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}
pub(crate) use open_enum;

/// The OData collection envelope `{"@odata.context": …, "value": [ … ]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ODataList<T> {
    #[serde(default, alias = "Value")]
    pub value: Vec<T>,
}

impl<T> Default for ODataList<T> {
    fn default() -> Self {
        Self { value: Vec::new() }
    }
}

open_enum!(
    /// A workspace role.
    GroupUserAccessRight {
        Admin => "Admin",
        Member => "Member",
        Contributor => "Contributor",
        Viewer => "Viewer",
        None => "None",
    }
);

open_enum!(
    /// What kind of principal a user entry is.
    PrincipalType {
        User => "User",
        Group => "Group",
        App => "App",
        None => "None",
    }
);

open_enum!(
    /// What `POST imports` does when the name exists.
    NameConflict {
        Ignore => "Ignore",
        Abort => "Abort",
        Overwrite => "Overwrite",
        CreateOrOverwrite => "CreateOrOverwrite",
        GenerateUniqueName => "GenerateUniqueName",
    }
);

open_enum!(
    /// The state of an import.
    ImportState {
        Publishing => "Publishing",
        Succeeded => "Succeeded",
        Failed => "Failed",
    }
);

open_enum!(
    /// The state of an asynchronous capacity assignment.
    CapacityAssignmentState {
        Pending => "Pending",
        InProgress => "InProgress",
        CompletedSuccessfully => "CompletedSuccessfully",
        AssignmentFailed => "AssignmentFailed",
    }
);

/// A workspace.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Group {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(alias = "IsReadOnly")]
    pub is_read_only: bool,
    #[serde(alias = "IsOnDedicatedCapacity")]
    pub is_on_dedicated_capacity: bool,
    #[serde(alias = "CapacityId")]
    pub capacity_id: Option<String>,
    #[serde(alias = "DefaultDatasetStorageFormat")]
    pub default_dataset_storage_format: Option<String>,
    #[serde(rename = "type", alias = "Type")]
    pub kind: Option<String>,
}

/// Body of `POST groups`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateGroupRequest {
    pub name: String,
}

/// A workspace member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupUser {
    #[serde(alias = "Identifier", skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    #[serde(alias = "PrincipalType", skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<PrincipalType>,
    #[serde(alias = "EmailAddress", skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(alias = "DisplayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(
        alias = "GroupUserAccessRight",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_user_access_right: Option<GroupUserAccessRight>,
}

/// Body of `POST groups/{id}/AssignToCapacity`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignToCapacityRequest {
    pub capacity_id: String,
}

/// `GET groups/{id}/CapacityAssignmentStatus`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CapacityAssignmentStatus {
    #[serde(alias = "Status")]
    pub status: Option<CapacityAssignmentState>,
    #[serde(alias = "CapacityId")]
    pub capacity_id: Option<String>,
    #[serde(alias = "StartTime")]
    pub start_time: Option<String>,
    #[serde(alias = "EndTime")]
    pub end_time: Option<String>,
}

/// A dataset or report created by an import.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ImportedItem {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(alias = "WebUrl")]
    pub web_url: Option<String>,
    #[serde(alias = "ReportType")]
    pub report_type: Option<String>,
    #[serde(alias = "TargetStorageMode")]
    pub target_storage_mode: Option<String>,
}

/// An import and what it produced.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Import {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(alias = "ImportState")]
    pub import_state: Option<ImportState>,
    #[serde(alias = "CreatedDateTime")]
    pub created_date_time: Option<String>,
    #[serde(alias = "UpdatedDateTime")]
    pub updated_date_time: Option<String>,
    #[serde(alias = "Datasets")]
    pub datasets: Vec<ImportedItem>,
    #[serde(alias = "Reports")]
    pub reports: Vec<ImportedItem>,
    /// Present on failed imports: `{"code": …, "details": …}` (not in the swagger).
    #[serde(alias = "Error")]
    pub error: Option<serde_json::Value>,
}

/// `{"id": …}` returned by `POST imports`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ImportCreated {
    #[serde(alias = "Id")]
    pub id: String,
}

/// Where to upload a large file. The URL carries a SAS signature: Debug redacts it.
#[derive(Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TemporaryUploadLocation {
    #[serde(alias = "Url")]
    pub url: String,
    #[serde(alias = "ExpirationTime")]
    pub expiration_time: Option<String>,
}

impl std::fmt::Debug for TemporaryUploadLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryUploadLocation")
            .field("url", &super::retry::redact_url(&self.url))
            .field("expiration_time", &self.expiration_time)
            .finish()
    }
}

/// Body of a `fileUrl` import. The URL carries a SAS signature: Debug redacts it.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUrlImport {
    pub file_url: String,
}

impl std::fmt::Debug for FileUrlImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileUrlImport")
            .field("file_url", &super::retry::redact_url(&self.file_url))
            .finish()
    }
}

/// Query options of `POST imports`.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Display name, e.g. `Sales.pbix`; the dataset is named without the extension.
    pub dataset_display_name: String,
    pub name_conflict: NameConflict,
    /// Import only the semantic model (sent only when true, as the service requires).
    pub skip_report: bool,
    pub override_report_label: Option<bool>,
    pub override_model_label: Option<bool>,
    pub subfolder_object_id: Option<String>,
}

impl ImportOptions {
    /// `CreateOrOverwrite` of `display_name`, the declarative default.
    pub fn create_or_overwrite(display_name: impl Into<String>) -> Self {
        Self {
            dataset_display_name: display_name.into(),
            name_conflict: NameConflict::CreateOrOverwrite,
            skip_report: false,
            override_report_label: None,
            override_model_label: None,
            subfolder_object_id: None,
        }
    }

    /// The name the imported items get: the display name without a `.pbix` extension.
    pub fn item_name(&self) -> &str {
        let name = self.dataset_display_name.as_str();
        match name.len().checked_sub(5) {
            Some(i) if name.is_char_boundary(i) && name[i..].eq_ignore_ascii_case(".pbix") => {
                &name[..i]
            }
            _ => name,
        }
    }
}

/// A report.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Report {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(alias = "ReportType")]
    pub report_type: Option<String>,
    #[serde(alias = "DatasetId")]
    pub dataset_id: Option<String>,
    #[serde(alias = "DatasetWorkspaceId")]
    pub dataset_workspace_id: Option<String>,
    #[serde(alias = "WebUrl")]
    pub web_url: Option<String>,
    #[serde(alias = "EmbedUrl")]
    pub embed_url: Option<String>,
    #[serde(alias = "Description")]
    pub description: Option<String>,
    #[serde(alias = "IsFromPbix")]
    pub is_from_pbix: Option<bool>,
    #[serde(alias = "IsOwnedByMe")]
    pub is_owned_by_me: Option<bool>,
}

/// Body of `POST reports/{id}/Rebind`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebindRequest {
    pub dataset_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_enum_is_case_insensitive_and_open() {
        let r: GroupUserAccessRight = serde_json::from_str(r#""admin""#).unwrap();
        assert_eq!(r, GroupUserAccessRight::Admin);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#""Admin""#);
        let r: GroupUserAccessRight = serde_json::from_str(r#""Owner""#).unwrap();
        assert_eq!(r, GroupUserAccessRight::Other("Owner".into()));
        assert_eq!(serde_json::to_string(&r).unwrap(), r#""Owner""#);
    }

    #[test]
    fn group_decodes_real_capture_with_extra_fields() {
        let body = r#"{"@odata.context":"x","@odata.count":1,"value":[{"id":"8b1b","isReadOnly":false,
          "isOnDedicatedCapacity":true,"capacityId":"FEFC","defaultDatasetStorageFormat":"Small",
          "type":"Workspace","name":"WORKSPACE_B","somethingNew":{"a":1}}]}"#;
        let list: ODataList<Group> = serde_json::from_str(body).unwrap();
        assert_eq!(list.value[0].name, "WORKSPACE_B");
        assert_eq!(list.value[0].capacity_id.as_deref(), Some("FEFC"));
        assert_eq!(list.value[0].kind.as_deref(), Some("Workspace"));
    }

    #[test]
    fn pascal_case_and_empty_bodies() {
        let g: Group = serde_json::from_str(r#"{"Id":"a","Name":"N","IsReadOnly":true}"#).unwrap();
        assert_eq!(
            (g.id.as_str(), g.name.as_str(), g.is_read_only),
            ("a", "N", true)
        );
        let i: Import = serde_json::from_str("{}").unwrap();
        assert_eq!(i, Import::default());
        let t: TemporaryUploadLocation =
            serde_json::from_str(r#"{"Url":"https://a/b?sig=SECRET","ExpirationTime":"t"}"#)
                .unwrap();
        assert_eq!(t.url, "https://a/b?sig=SECRET");
        assert!(!format!("{t:?}").contains("SECRET"));
    }

    #[test]
    fn import_item_name_strips_pbix() {
        assert_eq!(
            ImportOptions::create_or_overwrite("Sales.PBIX").item_name(),
            "Sales"
        );
        assert_eq!(
            ImportOptions::create_or_overwrite("Sales").item_name(),
            "Sales"
        );
        assert_eq!(ImportOptions::create_or_overwrite("é").item_name(), "é");
    }
}
