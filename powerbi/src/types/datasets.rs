//! Dataset (semantic model) wire types: datasets, parameters, data sources, refreshes and
//! refresh schedules.

use serde::{Deserialize, Serialize};

use super::open_enum;

open_enum!(
    /// Who gets mail about a refresh. Service principals may only use `NoNotification`.
    NotifyOption {
        NoNotification => "NoNotification",
        MailOnFailure => "MailOnFailure",
        MailOnCompletion => "MailOnCompletion",
    }
);

open_enum!(
    /// The status of a refresh history entry (`Unknown` = still running).
    RefreshStatus {
        Unknown => "Unknown",
        Completed => "Completed",
        Failed => "Failed",
        Disabled => "Disabled",
        Cancelled => "Cancelled",
    }
);

/// A dataset (semantic model).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Dataset {
    #[serde(alias = "Id")]
    pub id: String,
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(alias = "Description")]
    pub description: Option<String>,
    #[serde(alias = "WebUrl")]
    pub web_url: Option<String>,
    /// The owner; owner-only calls need a Take Over when this is not the caller.
    #[serde(alias = "ConfiguredBy")]
    pub configured_by: Option<String>,
    #[serde(alias = "IsRefreshable")]
    pub is_refreshable: Option<bool>,
    #[serde(alias = "IsEffectiveIdentityRequired")]
    pub is_effective_identity_required: Option<bool>,
    #[serde(alias = "IsEffectiveIdentityRolesRequired")]
    pub is_effective_identity_roles_required: Option<bool>,
    #[serde(alias = "IsOnPremGatewayRequired")]
    pub is_on_prem_gateway_required: Option<bool>,
    #[serde(alias = "TargetStorageMode")]
    pub target_storage_mode: Option<String>,
    #[serde(alias = "CreatedDate")]
    pub created_date: Option<String>,
    #[serde(alias = "ContentProviderType")]
    pub content_provider_type: Option<String>,
    #[serde(alias = "AddRowsAPIEnabled", alias = "addRowsAPIEnabled")]
    pub add_rows_api_enabled: Option<bool>,
}

/// A Power Query (M) parameter of a dataset. `current_value` is always a string on the wire.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MashupParameter {
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(rename = "type", alias = "Type")]
    pub kind: Option<String>,
    #[serde(alias = "CurrentValue")]
    pub current_value: Option<String>,
    #[serde(alias = "IsRequired")]
    pub is_required: Option<bool>,
    #[serde(alias = "SuggestedValues")]
    pub suggested_values: Vec<String>,
}

/// One parameter change of `Default.UpdateParameters`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateParameter {
    pub name: String,
    pub new_value: String,
}

/// Body of `Default.UpdateParameters` (at most 100 entries per call).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateParametersRequest {
    pub update_details: Vec<UpdateParameter>,
}

/// Connection details of a dataset data source (an object here, unlike the gateway APIs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectionDetails {
    #[serde(alias = "Server", skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(alias = "Database", skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(alias = "Url", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(alias = "Path", skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(alias = "Kind", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(alias = "Account", skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(alias = "Domain", skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(alias = "EmailAddress", skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(alias = "LoginServer", skip_serializing_if = "Option::is_none")]
    pub login_server: Option<String>,
    #[serde(alias = "ClassInfo", skip_serializing_if = "Option::is_none")]
    pub class_info: Option<String>,
}

/// A data source of a dataset, with the gateway ids credentials are set through.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Datasource {
    #[serde(alias = "DatasourceType", skip_serializing_if = "Option::is_none")]
    pub datasource_type: Option<String>,
    #[serde(alias = "ConnectionDetails", skip_serializing_if = "Option::is_none")]
    pub connection_details: Option<ConnectionDetails>,
    #[serde(alias = "DatasourceId", skip_serializing_if = "Option::is_none")]
    pub datasource_id: Option<String>,
    #[serde(alias = "GatewayId", skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
}

/// One re-pointing of `Default.UpdateDatasources`: the selector must equal a current source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceUpdate {
    pub datasource_selector: Datasource,
    pub connection_details: ConnectionDetails,
}

/// Body of `Default.UpdateDatasources`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDatasourcesRequest {
    pub update_details: Vec<DatasourceUpdate>,
}

/// Body of the deprecated `Default.SetAllConnections`. A connection string may embed a
/// password, so Debug redacts it.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetAllConnectionsRequest {
    pub connection_string: String,
}

impl std::fmt::Debug for SetAllConnectionsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetAllConnectionsRequest")
            .field("connection_string", &"(redacted)")
            .finish()
    }
}

/// Body of `Default.BindToGateway`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindToGatewayRequest {
    pub gateway_object_id: String,
    /// Empty = let the service bind each connection to the first matching gateway source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub datasource_object_ids: Vec<String>,
}

/// Body of `POST refreshes`. Only `notify_option` is sent for a classic refresh; any other
/// field makes it an enhanced refresh (Premium only, `notify_option` must then be `None`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_option: Option<NotifyOption>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_parallelism: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<u32>,
}

/// What `POST refreshes` answered: enhanced refreshes carry their id here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshAccepted {
    /// The `x-ms-request-id` header (the refresh id of an enhanced refresh).
    pub request_id: Option<String>,
    /// The `Location` header (URL of the enhanced refresh).
    pub location: Option<String>,
}

/// A refresh history entry, newest first.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Refresh {
    #[serde(alias = "Id")]
    pub id: Option<serde_json::Value>,
    #[serde(alias = "RefreshType")]
    pub refresh_type: Option<String>,
    #[serde(alias = "StartTime")]
    pub start_time: Option<String>,
    #[serde(alias = "EndTime")]
    pub end_time: Option<String>,
    #[serde(alias = "Status")]
    pub status: Option<RefreshStatus>,
    #[serde(alias = "RequestId")]
    pub request_id: Option<String>,
    /// A JSON document in a string, e.g. `{"errorCode":"ModelRefreshFailed_…"}`.
    #[serde(alias = "ServiceExceptionJson")]
    pub service_exception_json: Option<String>,
}

/// A refresh schedule; also the partial body of its PATCH (unset fields are not sent, and a
/// disabling PATCH must contain `enabled: false` alone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RefreshSchedule {
    #[serde(alias = "Days", skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    #[serde(alias = "Times", skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<String>>,
    #[serde(alias = "Enabled", skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(alias = "LocalTimeZoneId", skip_serializing_if = "Option::is_none")]
    pub local_time_zone_id: Option<String>,
    #[serde(alias = "NotifyOption", skip_serializing_if = "Option::is_none")]
    pub notify_option: Option<NotifyOption>,
}

/// A DirectQuery / LiveConnection refresh schedule: `frequency` minutes (15, 30, 60, 120,
/// 180) or days + times, not both; also the partial body of its PATCH.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DirectQueryRefreshSchedule {
    #[serde(alias = "Frequency", skip_serializing_if = "Option::is_none")]
    pub frequency: Option<u32>,
    #[serde(alias = "Days", skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    #[serde(alias = "Times", skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<String>>,
    #[serde(alias = "LocalTimeZoneId", skip_serializing_if = "Option::is_none")]
    pub local_time_zone_id: Option<String>,
}

/// The `{"value": …}` wrapper of both schedule PATCHes.
#[derive(Debug, Clone, Serialize)]
pub struct SchedulePatch<'a, T> {
    pub value: &'a T,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_accepts_pascal_case() {
        let d: Dataset = serde_json::from_str(
            r#"{"Id":"d","Name":"Sales","IsRefreshable":true,"CreatedDate":"2021","ContentProviderType":"PbixInImportMode","isEffectiveIdentityRequired":false,"upstreamDatasets":[]}"#,
        )
        .unwrap();
        assert_eq!(d.is_refreshable, Some(true));
        assert_eq!(d.created_date.as_deref(), Some("2021"));
        assert_eq!(d.content_provider_type.as_deref(), Some("PbixInImportMode"));
    }

    #[test]
    fn schedule_patch_sends_only_set_fields() {
        let s = RefreshSchedule {
            enabled: Some(false),
            ..Default::default()
        };
        let body = serde_json::to_string(&SchedulePatch { value: &s }).unwrap();
        assert_eq!(body, r#"{"value":{"enabled":false}}"#);
        let s: RefreshSchedule =
            serde_json::from_str(r#"{"days":["Sunday"],"NotifyOption":"mailOnFailure"}"#).unwrap();
        assert_eq!(s.notify_option, Some(NotifyOption::MailOnFailure));
    }

    #[test]
    fn refresh_status_open() {
        let r: Refresh =
            serde_json::from_str(r#"{"status":"NotYetKnown","refreshType":"ViaApi","id":5}"#)
                .unwrap();
        assert_eq!(r.status, Some(RefreshStatus::Other("NotYetKnown".into())));
    }
}
