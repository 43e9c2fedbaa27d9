//! Hints for service errors whose cause is known, shared by plan and apply: matched on the
//! error code and message, never on the request.

use super::error::ApiError;

/// Known causes of service errors: (what the code or message contains, lower-cased; the hint).
/// Checked in order, so the specific ones come before the general ones.
const HINTS: &[(&str, &str)] = &[
    (
        "purgerequired",
        "the new definition drops a table or a column of an Import model, whose data the service would have to delete: set `allowDataLoss: true` on the dataset to accept it (refresh it afterwards to reload the data)",
    ),
    (
        "bypath",
        "the Fabric items API binds a report only `byConnection`: its definition.pbir must name the deployed semantic model's id (pbideploy rewrites `byPath` when the report's dataset is known; name it with `dataset:`)",
    ),
    (
        "itemdisplaynamenotavailableyet",
        "an item of this name was deleted recently and the service still holds the name: apply again in a few minutes",
    ),
    (
        "notifyoption",
        "service principals may only use `notifyOption: NoNotification`: remove `notifyOption` from the dataset's refresh schedule",
    ),
    (
        "invalidencryptionalgorithm",
        "gateway data sources need credentials encrypted with the gateway's public key (RSA-OAEP); cloud data sources need encryptionAlgorithm None: check the dataset's gateway binding",
    ),
    (
        "matches selector",
        "the datasource selector did not match: compare the manifest's `match` with the dataset's actual data sources (`pbideploy plan` lists them)",
    ),
    (
        "has no datasource matching",
        "the gateway has no data source with these connection details: set `gateway: {createDatasources: true}` on the dataset, or create the data source on the gateway",
    ),
    (
        "not accessible for application",
        "the tenant does not let this service principal use the Power BI APIs: an admin must enable 'Service principals can use Fabric APIs' for a security group that contains it",
    ),
    (
        "credentialsnotspecified",
        "a data source has no credentials: add a `credentials` rule that matches it",
    ),
    (
        "powerbinotauthorizedexception",
        "the deploying principal is probably not the dataset owner: set `takeover: true` on the dataset so pbideploy takes it over first",
    ),
    (
        "not the owner",
        "the deploying principal is not the dataset owner: set `takeover: true` on the dataset so pbideploy takes it over first",
    ),
    (
        "not bound to a gateway",
        "the dataset is not bound to a gateway: add a `gateway` section to the dataset in the manifest",
    ),
];

/// A hint for service errors whose cause is well known.
pub fn known_cause(api: &ApiError) -> Option<&'static str> {
    let text = format!(
        "{} {}",
        api.code.as_deref().unwrap_or_default(),
        api.message.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    HINTS
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, hint)| *hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str, message: &str) -> ApiError {
        ApiError {
            status: reqwest::StatusCode::BAD_REQUEST,
            code: Some(code.into()),
            message: Some(message.into()),
            request_id: None,
            method: "PATCH".into(),
            path: "/x".into(),
        }
    }

    #[test]
    fn each_known_cause_gets_its_own_hint() {
        let cases = [
            (
                "InvalidRequest",
                "Invalid NotifyOption value 'MailOnFailure' for app only owner requests",
                "NoNotification",
            ),
            ("PowerBINotAuthorizedException", "", "takeover"),
            ("DMTS_InvalidEncryptionAlgorithmError", "", "RSA-OAEP"),
            (
                "InvalidRequest",
                "Dataset doesn't contain a datasource that matches selector #1",
                "`match`",
            ),
            (
                "InvalidRequest",
                "Gateway Local Gateway has no datasource matching Sql {}",
                "createDatasources",
            ),
            (
                "Alm_InvalidRequest_PurgeRequired",
                "Dataset d1 changes will cause data deletion.",
                "allowDataLoss",
            ),
            (
                "Workload_FailedToParseFile",
                "Cannot read 'definition.pbir'. datasetReference.byPath is not supported",
                "byConnection",
            ),
            ("ItemDisplayNameNotAvailableYet", "", "few minutes"),
        ];
        for (code, message, expect) in cases {
            let hint = known_cause(&api(code, message)).unwrap_or_default();
            assert!(hint.contains(expect), "{code} {message}: {hint}");
        }
    }

    #[test]
    fn an_owner_word_in_an_unrelated_message_gets_no_takeover_hint() {
        assert_eq!(
            known_cause(&api("InvalidRequest", "owner field is invalid")),
            None
        );
    }
}
