//! The `Connections` part (a JSON part at the root of the ZIP): a live connection makes the file a thin
//! report; `RemoteArtifacts` only says where the file was last published.

use serde_json::Value;

use crate::error::{PbixError, malformed};

/// The live connection of a thin report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveConnection {
    /// Bound to a Power BI dataset (`pbiServiceLive`, or `pbiServiceXmlaStyleLive`, which
    /// names the dataset instead of giving its id).
    PowerBiDataset {
        /// `PbiModelDatabaseName` (the dataset id), else the connection string's `Initial
        /// Catalog` (an id, or a dataset name for the XMLA style).
        dataset: String,
        /// The XMLA style, where `dataset` may be a name.
        xmla: bool,
        /// The entry's `ConnectionString`.
        connection_string: String,
    },
    /// Bound to an Analysis Services database (`analysisServicesDatabaseLive`).
    AnalysisServices {
        /// `Data Source` of the connection string.
        server: String,
        /// `Initial Catalog` of the connection string.
        database: String,
        /// The entry's `ConnectionString`.
        connection_string: String,
    },
}

/// What the `Connections` part says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Connections {
    /// The first connection, when it is a live one.
    pub live: Option<LiveConnection>,
    /// `RemoteArtifacts[0].DatasetId`: the dataset the file was last published as.
    pub published_dataset: Option<String>,
}

fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn get_str(v: &Value, key: &str) -> Option<String> {
    get_ci(v, key).and_then(Value::as_str).map(str::to_string)
}

/// Parses the part's text; anything but a JSON object is refused.
pub(crate) fn parse(text: &str) -> Result<Connections, PbixError> {
    let json: Value = serde_json::from_str(text)
        .map_err(|e| malformed("Connections", format!("not JSON: {e}")))?;
    if !json.is_object() {
        return Err(malformed(
            "Connections",
            "the top level is not a JSON object",
        ));
    }
    let published_dataset = get_ci(&json, "RemoteArtifacts")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| get_str(a, "DatasetId"));
    let first = get_ci(&json, "Connections")
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    let live = match first {
        Some(conn) => live_connection(conn)?,
        None => None,
    };
    Ok(Connections {
        live,
        published_dataset,
    })
}

fn live_connection(conn: &Value) -> Result<Option<LiveConnection>, PbixError> {
    let connection_string = get_str(conn, "ConnectionString").unwrap_or_default();
    let props = connection_properties(&connection_string);
    let prop = |k: &str| {
        props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let kind = get_str(conn, "ConnectionType").unwrap_or_default();
    let live = if kind.eq_ignore_ascii_case("pbiServiceLive")
        || kind.eq_ignore_ascii_case("pbiServiceXmlaStyleLive")
    {
        let dataset = get_str(conn, "PbiModelDatabaseName")
            .filter(|s| !s.is_empty())
            .or_else(|| prop("Initial Catalog").filter(|s| !s.is_empty()))
            .ok_or_else(|| {
                malformed(
                    "Connections",
                    "the live connection names no dataset (no PbiModelDatabaseName or Initial Catalog)",
                )
            })?;
        LiveConnection::PowerBiDataset {
            dataset,
            xmla: kind.eq_ignore_ascii_case("pbiServiceXmlaStyleLive"),
            connection_string,
        }
    } else if kind.eq_ignore_ascii_case("analysisServicesDatabaseLive") {
        LiveConnection::AnalysisServices {
            server: prop("Data Source").unwrap_or_default(),
            database: prop("Initial Catalog").unwrap_or_default(),
            connection_string,
        }
    } else {
        return Ok(None);
    };
    Ok(Some(live))
}

/// Splits `Key=Value;Key="quoted; value"` connection strings into trimmed pairs.
pub fn connection_properties(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.trim_start().strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            let tail = q.get(end + 1..).unwrap_or("");
            (q[..end].to_string(), tail.trim_start_matches(';'))
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (
                after[..end].trim().to_string(),
                after.get(end + 1..).unwrap_or(""),
            )
        };
        if !key.is_empty() {
            out.push((key, value));
        }
        rest = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_split_on_unquoted_semicolons() {
        let props = connection_properties(
            "Data Source=.\\tab17;Initial Catalog=Db;Identity Provider=\"a; b\";X=1",
        );
        assert_eq!(props[0], ("Data Source".into(), ".\\tab17".into()));
        assert_eq!(props[2].1, "a; b");
        assert_eq!(props[3], ("X".into(), "1".into()));
    }

    #[test]
    fn kinds_of_connections() {
        let ssas = r#"{"Version":1,"Connections":[{"ConnectionString":"Data Source=srv;Initial Catalog=db","ConnectionType":"analysisServicesDatabaseLive"}]}"#;
        assert!(matches!(parse(ssas).unwrap().live,
            Some(LiveConnection::AnalysisServices { ref server, ref database, .. }) if server == "srv" && database == "db"));
        let xmla = r#"{"connections":[{"connectionString":"Data Source=powerbi://api.powerbi.com/v1.0/myorg/WS;Initial Catalog=Sales","connectionType":"pbiServiceXmlaStyleLive","pbiModelDatabaseName":null}]}"#;
        assert!(matches!(parse(xmla).unwrap().live,
            Some(LiveConnection::PowerBiDataset { ref dataset, xmla: true, .. }) if dataset == "Sales"));
        let remote = r#"{"Version":3,"RemoteArtifacts":[{"DatasetId":"d","ReportId":"r"}]}"#;
        let c = parse(remote).unwrap();
        assert_eq!((c.live, c.published_dataset.as_deref()), (None, Some("d")));
        let nameless = r#"{"Connections":[{"ConnectionString":"Data Source=pbiazure://x","ConnectionType":"pbiServiceLive"}]}"#;
        assert!(parse(nameless).is_err());
        assert!(parse("[1]").is_err());
        assert!(parse("{not json").is_err());
    }
}
