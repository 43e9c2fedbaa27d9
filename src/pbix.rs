//! Rewriting a thin report's `Connections` part so that it names the dataset deployed for
//! this environment: the service refuses to import a thin report whose dataset it cannot
//! reach, so the copy sent must point at the right one. Every other part is copied raw
//! (byte for byte, compressed data untouched).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Largest `Connections` part read (it is a few hundred bytes in practice).
const MAX_CONNECTIONS_BYTES: u64 = 1 << 20;

/// Why a PBIX could not be retargeted; names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PbixError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid PBIX (ZIP) file: {reason}")]
    Zip { path: String, reason: String },
    #[error(
        "{path} has no live connection in its `Connections` part, so it is not a thin report; remove `dataset` from the report in the manifest or use a thin report PBIX"
    )]
    NotThin { path: String },
    #[error("{path}: the `Connections` part is not valid JSON: {reason}")]
    Connections { path: String, reason: String },
}

/// The dataset a thin report must point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetTarget {
    pub dataset_id: String,
    pub dataset_name: String,
    pub workspace_name: String,
}

/// Write a copy of the thin report at `source` whose connection names `target`, into a new
/// temporary file (deleted when the returned handle drops).
pub fn retarget_to_temp(
    source: &Path,
    target: &DatasetTarget,
) -> Result<tempfile::NamedTempFile, PbixError> {
    let shown = source.display().to_string();
    let io = |source: std::io::Error| PbixError::Io {
        path: shown.clone(),
        source,
    };
    let zerr = |e: zip::result::ZipError| PbixError::Zip {
        path: shown.clone(),
        reason: e.to_string(),
    };
    let mut zin = ZipArchive::new(BufReader::new(File::open(source).map_err(io)?)).map_err(zerr)?;
    let mut tmp = tempfile::Builder::new()
        .prefix("pbideploy-")
        .suffix(".pbix")
        .tempfile()
        .map_err(io)?;
    let mut found = false;
    {
        let mut zout = ZipWriter::new(tmp.as_file_mut());
        for i in 0..zin.len() {
            let name = zin
                .by_index_raw(i)
                .map_err(zerr)?
                .name()
                .map_err(zerr)?
                .to_string();
            if name == "Connections" {
                let mut text = Vec::new();
                zin.by_index(i)
                    .map_err(zerr)?
                    .take(MAX_CONNECTIONS_BYTES)
                    .read_to_end(&mut text)
                    .map_err(io)?;
                let rewritten = rewrite_connections(&text, target).map_err(|reason| {
                    PbixError::Connections {
                        path: shown.clone(),
                        reason,
                    }
                })?;
                let Some(rewritten) = rewritten else {
                    return Err(PbixError::NotThin { path: shown });
                };
                found = true;
                let opts =
                    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
                zout.start_file(name, opts).map_err(zerr)?;
                zout.write_all(rewritten.as_bytes()).map_err(io)?;
            } else {
                let raw = zin.by_index_raw(i).map_err(zerr)?;
                zout.raw_copy_file(raw).map_err(zerr)?;
            }
        }
        zout.finish().map_err(zerr)?;
    }
    if !found {
        return Err(PbixError::NotThin { path: shown });
    }
    tmp.as_file_mut().flush().map_err(io)?;
    Ok(tmp)
}

fn get_ci<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Option<(&'a String, &'a Value)> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))
}

fn set_ci(obj: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    let existing = get_ci(obj, key).map(|(k, _)| k.clone());
    obj.insert(existing.unwrap_or_else(|| key.to_string()), value);
}

/// The rewritten `Connections` JSON, or `None` when it holds no live connection to a
/// Power BI dataset.
pub fn rewrite_connections(bytes: &[u8], target: &DatasetTarget) -> Result<Option<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let text = text.trim_start_matches('\u{feff}');
    let mut doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(root) = doc.as_object_mut() else {
        return Err("the top level is not an object".into());
    };
    let mut changed = false;
    let conns_key = get_ci(root, "Connections").map(|(k, _)| k.clone());
    if let Some(Value::Array(conns)) = conns_key.and_then(|k| root.get_mut(&k)) {
        for conn in conns.iter_mut().filter_map(Value::as_object_mut) {
            let kind = get_ci(conn, "ConnectionType")
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
                .to_string();
            let xmla = kind.eq_ignore_ascii_case("pbiServiceXmlaStyleLive");
            if !kind.eq_ignore_ascii_case("pbiServiceLive") && !xmla {
                continue;
            }
            let cs = get_ci(conn, "ConnectionString")
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
                .to_string();
            let new_cs = if xmla {
                let source = format!(
                    "powerbi://api.powerbi.com/v1.0/myorg/{}",
                    target.workspace_name
                );
                let cs = set_property(&cs, "Data Source", &source);
                set_property(&cs, "Initial Catalog", &target.dataset_name)
            } else {
                set_property(&cs, "Initial Catalog", &target.dataset_id)
            };
            set_ci(conn, "ConnectionString", Value::String(new_cs));
            set_ci(
                conn,
                "PbiModelDatabaseName",
                Value::String(target.dataset_id.clone()),
            );
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let ra_key = get_ci(root, "RemoteArtifacts").map(|(k, _)| k.clone());
    if let Some(Value::Array(arts)) = ra_key.and_then(|k| root.get_mut(&k)) {
        for art in arts.iter_mut().filter_map(Value::as_object_mut) {
            set_ci(art, "DatasetId", Value::String(target.dataset_id.clone()));
        }
    }
    serde_json::to_string(&doc)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Split a connection string on `;` outside double quotes.
fn split_properties(cs: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in cs.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&cs[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < cs.len() {
        out.push(&cs[start..]);
    }
    out
}

/// Set `key` (case-insensitive) in a connection string, keeping every other property as is.
pub fn set_property(cs: &str, key: &str, value: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut done = false;
    for p in split_properties(cs) {
        let k = p.split('=').next().unwrap_or_default().trim();
        if k.eq_ignore_ascii_case(key) {
            parts.push(format!("{k}={value}"));
            done = true;
        } else {
            parts.push(p.to_string());
        }
    }
    if !done {
        parts.push(format!("{key}={value}"));
    }
    parts.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> DatasetTarget {
        DatasetTarget {
            dataset_id: "11111111-2222-3333-4444-555555555555".into(),
            dataset_name: "Sales".into(),
            workspace_name: "Prod".into(),
        }
    }

    const LIVE: &str = r#"{"Version":2,"Connections":[{"Name":"EntityDataSource","ConnectionString":"Data Source=pbiazure://api.powerbi.com;Initial Catalog=d6b517a0-219a-4c7d-8c56-c844c6536db1;Identity Provider=\"https://login.microsoftonline.com/common, https://analysis.windows.net/powerbi/api, 7f67af8a\";Integrated Security=ClaimsToken","ConnectionType":"pbiServiceLive","PbiServiceModelId":14180786,"PbiModelVirtualServerName":"sobe_wowvirtualserver","PbiModelDatabaseName":"d6b517a0-219a-4c7d-8c56-c844c6536db1"}],"RemoteArtifacts":[{"DatasetId":"old","ReportId":"r"}]}"#;

    #[test]
    fn live_connection_points_at_the_target_and_keeps_the_rest() {
        let out = rewrite_connections(LIVE.as_bytes(), &target())
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        let c = &v["Connections"][0];
        assert_eq!(c["PbiModelDatabaseName"], target().dataset_id);
        let cs = c["ConnectionString"].as_str().unwrap();
        assert!(
            cs.contains("Initial Catalog=11111111-2222-3333-4444-555555555555;"),
            "{cs}"
        );
        assert!(cs.contains("Identity Provider=\"https://login.microsoftonline.com/common, https://analysis.windows.net/powerbi/api, 7f67af8a\""));
        assert!(!cs.contains("d6b517a0"));
        assert_eq!(v["RemoteArtifacts"][0]["DatasetId"], target().dataset_id);
        assert_eq!(c["PbiServiceModelId"], 14180786);
    }

    #[test]
    fn non_thin_connections_are_refused() {
        let ssas = r#"{"Version":1,"Connections":[{"ConnectionString":"Data Source=x;Initial Catalog=y","ConnectionType":"analysisServicesDatabaseLive"}]}"#;
        assert_eq!(
            rewrite_connections(ssas.as_bytes(), &target()).unwrap(),
            None
        );
        let ra = r#"{"Version":3,"RemoteArtifacts":[{"DatasetId":"a"}]}"#;
        assert_eq!(rewrite_connections(ra.as_bytes(), &target()).unwrap(), None);
        assert!(rewrite_connections(b"not json", &target()).is_err());
    }

    #[test]
    fn zip_copy_keeps_other_parts_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("thin.pbix");
        {
            let mut z = ZipWriter::new(File::create(&src).unwrap());
            let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
            z.start_file("Version", stored).unwrap();
            z.write_all(b"1\x002\x00").unwrap();
            z.start_file("Connections", SimpleFileOptions::default())
                .unwrap();
            z.write_all(LIVE.as_bytes()).unwrap();
            z.start_file("Report/Layout", SimpleFileOptions::default())
                .unwrap();
            z.write_all(&[7u8; 5000]).unwrap();
            z.finish().unwrap();
        }
        let tmp = retarget_to_temp(&src, &target()).unwrap();
        let mut a = ZipArchive::new(File::open(&src).unwrap()).unwrap();
        let mut b = ZipArchive::new(File::open(tmp.path()).unwrap()).unwrap();
        assert_eq!(a.len(), b.len());
        for name in ["Version", "Report/Layout"] {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            a.by_name(name).unwrap().read_to_end(&mut x).unwrap();
            b.by_name(name).unwrap().read_to_end(&mut y).unwrap();
            assert_eq!(x, y, "{name}");
            assert_eq!(
                a.by_name(name).unwrap().compressed_size(),
                b.by_name(name).unwrap().compressed_size()
            );
        }
        let mut c = String::new();
        b.by_name("Connections")
            .unwrap()
            .read_to_string(&mut c)
            .unwrap();
        assert!(c.contains(&target().dataset_id));
    }
}
