//! Wire types of the Fabric items API (`/v1`): workspaces, items, definitions. Lenient on
//! input (unknown fields ignored), exact on output.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// `GET /v1/workspaces/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Workspace {
    pub id: String,
    pub display_name: String,
    pub description: String,
    /// `Workspace`, `Personal`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub capacity_id: Option<String>,
}

/// The item types pbideploy deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemType {
    SemanticModel,
    Report,
}

impl ItemType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SemanticModel => "SemanticModel",
            Self::Report => "Report",
        }
    }
}

impl std::fmt::Display for ItemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An item as listed or created. `item_type` stays a string: a workspace holds many types
/// pbideploy does not deploy (lakehouses, notebooks…), and listing must not fail on them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Item {
    pub id: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub display_name: String,
    pub description: String,
    pub workspace_id: String,
    pub folder_id: Option<String>,
}

impl Item {
    /// Whether the item is of `kind` (case-insensitive, like the service).
    pub fn is(&self, kind: ItemType) -> bool {
        self.item_type.eq_ignore_ascii_case(kind.as_str())
    }
}

/// One page of `GET /v1/workspaces/{id}/items`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ItemPage {
    pub value: Vec<Item>,
    pub continuation_token: Option<String>,
}

/// A definition part, decoded: a path relative to the item folder (`/` separators) and its
/// bytes. The wire form (`InlineBase64`) is made and read only here.
#[derive(Clone, PartialEq, Eq)]
pub struct DefinitionPart {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for DefinitionPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefinitionPart")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// An item definition: its parts, and the format when one is named (`TMDL`, `TMSL`, `PBIR`,
/// `PBIR-Legacy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definition {
    pub format: Option<String>,
    pub parts: Vec<DefinitionPart>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WirePart {
    pub path: String,
    pub payload: String,
    pub payload_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireDefinition {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub format: Option<String>,
    pub parts: Vec<WirePart>,
}

impl Definition {
    pub(crate) fn to_wire(&self) -> WireDefinition {
        WireDefinition {
            format: self.format.clone(),
            parts: self
                .parts
                .iter()
                .map(|p| WirePart {
                    path: p.path.clone(),
                    payload: STANDARD.encode(&p.bytes),
                    payload_type: "InlineBase64".into(),
                })
                .collect(),
        }
    }

    /// Decodes a wire definition; a part that is not inline base64 is an error naming it.
    pub(crate) fn from_wire(w: WireDefinition) -> Result<Self, String> {
        let mut parts = Vec::with_capacity(w.parts.len());
        for p in w.parts {
            if !p.payload_type.eq_ignore_ascii_case("InlineBase64") {
                return Err(format!(
                    "part {} has payloadType {}, not InlineBase64",
                    p.path, p.payload_type
                ));
            }
            let bytes = STANDARD
                .decode(p.payload.trim())
                .map_err(|e| format!("part {} is not valid base64: {e}", p.path))?;
            parts.push(DefinitionPart {
                path: p.path,
                bytes,
            });
        }
        Ok(Self {
            format: w.format,
            parts,
        })
    }
}

/// The body of `POST /v1/workspaces/{id}/items`.
#[derive(Debug, Clone)]
pub struct CreateItem {
    pub display_name: String,
    pub item_type: ItemType,
    pub description: Option<String>,
    pub folder_id: Option<String>,
    pub definition: Definition,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCreate<'a> {
    pub display_name: &'a str,
    #[serde(rename = "type")]
    pub item_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<&'a str>,
    pub definition: WireDefinition,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DefinitionEnvelope {
    pub definition: WireDefinition,
}

/// `GET /v1/operations/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OperationState {
    pub status: String,
    pub error: Option<OperationError>,
}

/// The error of a failed operation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OperationError {
    pub error_code: Option<String>,
    pub message: Option<String>,
}
