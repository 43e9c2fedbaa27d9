//! What the service derives from an imported PBIX: thin report or model, and the
//! model's datasources and parameters (`shared/reference/pbix-format.md` §2, §3, §5, §8).
//!
//! Pipeline (§8.3): open the ZIP (seeking; entries and sizes capped against zip bombs)
//! → reject templates → thin report from `Connections` → `DataModelSchema` (TMSL) →
//! `DataMashup` `Formulas/Section1.m` → else an opaque XPress9 `DataModel`
//! (`model_readable = false`).
//!
//! **Template rule [inferred]:** a file is a `.pbit` template, which the Imports API does
//! not accept, when its path ends in `.pbit`, or when it has `DataModelSchema`, no
//! `DataModel`, and a `DataMashup` part (every Desktop-saved template carries one). A
//! hand-written **test PBIX** therefore has a `.pbix` name, a `DataModelSchema` part and
//! neither `DataModel` nor `DataMashup`; the emulator accepts it although the real service
//! would not (§8.3 recommends exactly this for test authoring).

mod mashup;
mod schema;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use serde::{Deserialize, Serialize};
use zip::ZipArchive;

/// The service's view of an imported PBIX.
#[derive(Debug, Clone, PartialEq)]
pub struct PbixServiceView {
    /// Model, thin report, or live connection to Analysis Services.
    pub kind: PbixKind,
    /// Whether the emulator could read the model's sources (false: the server falls back
    /// to the tenant file by sha256). Thin reports have no model: true with empty lists.
    pub model_readable: bool,
    /// Deduplicated datasources, in order of first appearance.
    pub datasources: Vec<PbixDatasource>,
    /// M parameters (`IsParameterQuery=true`), in file order.
    pub parameters: Vec<PbixParameter>,
    /// Whether the model keeps a table in DirectQuery (a TMSL partition or the model's
    /// `defaultMode` is `directQuery`): such a dataset has a DirectQuery refresh schedule
    /// instead of an import one (documented: powerbi-api.md 3.16/3.17).
    pub direct_query: bool,
}

/// What an import of the file creates.
#[derive(Debug, Clone, PartialEq)]
pub enum PbixKind {
    /// A dataset (model) and a report.
    Model,
    /// Only a report, bound to an existing Power BI dataset (`pbiServiceLive`, or
    /// `pbiServiceXmlaStyleLive` where `dataset_id` may be a dataset name).
    ThinReport {
        /// `PbiModelDatabaseName`, else the connection string's `Initial Catalog`.
        dataset_id: String,
        /// The `Connections` entry's `ConnectionString`.
        connection_string: String,
    },
    /// A report plus a live-connection dataset on SSAS/AAS (`analysisServicesDatabaseLive`).
    AnalysisServicesLive {
        /// `Data Source` of the connection string.
        server: String,
        /// `Initial Catalog` of the connection string.
        database: String,
    },
}

/// A datasource as `Get Datasources` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PbixDatasource {
    /// e.g. `Sql`, `OData`, `Web`, `File`, `AnalysisServices`.
    pub datasource_type: String,
    /// e.g. `{server, database}` or `{url}`.
    pub connection_details: serde_json::Map<String, serde_json::Value>,
    /// The details whose M value is built from parameters, as pieces: the service
    /// re-evaluates them when a parameter changes (`Update Parameters` re-points the
    /// source; documented: powerbi-api.md 3.12 recommends parameters for re-pointing).
    pub parameter_details: BTreeMap<String, Vec<DetailPiece>>,
}

/// One piece of a connection detail's M value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DetailPiece {
    /// Literal text.
    Text(String),
    /// A parameter reference and the value it had when the PBIX was read.
    Param {
        /// The parameter (shared query) name.
        name: String,
        /// Its value at import.
        value: String,
    },
}

/// The detail's text: literal pieces as they are, parameters through `current` (by name),
/// falling back to the value they had at import.
pub fn join_pieces(pieces: &[DetailPiece], current: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            DetailPiece::Text(t) => out.push_str(t),
            DetailPiece::Param { name, value } => match current(name) {
                Some(v) => out.push_str(&v),
                None => out.push_str(value),
            },
        }
    }
    out
}

/// An M parameter as `Get Parameters` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PbixParameter {
    /// Parameter (shared query) name.
    pub name: String,
    /// `Type` from the meta record (`Text`, `Number`, `Date`, ...; `Any` when absent).
    pub param_type: String,
    /// The literal before `meta` (not `DefaultValue`); empty for `null`.
    pub current_value: String,
    /// `IsParameterQueryRequired`.
    pub is_required: bool,
    /// `List={...}` values.
    pub suggested_values: Vec<String>,
}

/// Why a PBIX could not be inspected; the server maps these to import failures.
#[derive(Debug, thiserror::Error)]
pub enum PbixError {
    /// The file could not be opened or read.
    #[error("cannot read PBIX file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a ZIP archive.
    #[error(
        "the file is not a PBIX (not a ZIP archive: {0}); upload a file saved by Power BI Desktop"
    )]
    NotZip(String),
    /// A `.pbit` template, which the Imports API does not accept.
    #[error(
        "the file is a Power BI template (.pbit: DataModelSchema without DataModel); the service imports only .pbix, open the template in Desktop and save it as .pbix"
    )]
    Template,
    /// Too many entries (zip-bomb guard).
    #[error("the PBIX has {0} entries, more than the {MAX_ENTRIES} allowed")]
    TooManyEntries(usize),
    /// An entry the emulator reads decompresses beyond the cap (zip-bomb guard).
    #[error("PBIX part {part} is larger than the {limit}-byte limit")]
    EntryTooLarge {
        /// The part.
        part: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// A part is corrupt or not in the expected encoding/format.
    #[error("PBIX part {part} is malformed: {reason}")]
    Malformed {
        /// The part.
        part: String,
        /// What is wrong.
        reason: String,
    },
    /// Neither a model nor a live connection.
    #[error(
        "the PBIX has no data model (no DataModel, DataModelSchema or live-connection Connections part); it cannot be published"
    )]
    NoModel,
}

/// Zip-bomb guard: maximum number of entries in a PBIX.
pub const MAX_ENTRIES: usize = 20_000;
/// Zip-bomb guard: maximum decompressed size of a part the emulator reads.
pub const MAX_PART_BYTES: u64 = 128 * 1024 * 1024;
/// Zip-bomb guard for the small parts (`Connections`, `Section1.m`).
const MAX_SMALL_PART_BYTES: u64 = 16 * 1024 * 1024;

/// Options for [`inspect_pbix_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InspectOptions {
    /// Analyse templates instead of rejecting them (what Desktop would build from one).
    pub allow_template: bool,
}

/// Derives the service view of the PBIX at `path`, rejecting templates like the service.
pub fn inspect_pbix(path: &Path) -> Result<PbixServiceView, PbixError> {
    inspect_pbix_with(path, InspectOptions::default())
}

/// [`inspect_pbix`] with options (tests use `allow_template` on the `.pbit` fixture).
pub fn inspect_pbix_with(
    path: &Path,
    options: InspectOptions,
) -> Result<PbixServiceView, PbixError> {
    let file = File::open(path).map_err(|source| PbixError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut zip = ZipArchive::new(file).map_err(|e| PbixError::NotZip(e.to_string()))?;
    if zip.len() > MAX_ENTRIES {
        return Err(PbixError::TooManyEntries(zip.len()));
    }
    let has = |z: &ZipArchive<File>, n: &str| z.index_for_name(n).is_some();
    let has_model = has(&zip, "DataModel");
    let has_schema = has(&zip, "DataModelSchema");
    let has_mashup = has(&zip, "DataMashup");
    let pbit_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pbit"));
    if !options.allow_template && (pbit_name || (has_schema && !has_model && has_mashup)) {
        return Err(PbixError::Template);
    }
    if !has_model
        && !has_schema
        && let Some(kind) = live_connection(&mut zip)?
    {
        return Ok(live_view(kind));
    }
    if has_schema {
        let text = decode_text(&read_part(&mut zip, "DataModelSchema", MAX_PART_BYTES)?)
            .map_err(|reason| malformed("DataModelSchema", reason))?;
        let queries = schema::queries(&text).map_err(|r| malformed("DataModelSchema", r))?;
        let mut view = model_view(&queries);
        view.direct_query = schema::is_direct_query(&text);
        view.datasources
            .extend(schema::explicit_datasources(&text).unwrap_or_default());
        dedupe(&mut view.datasources);
        return Ok(view);
    }
    if has_mashup {
        let bytes = read_part(&mut zip, "DataMashup", MAX_PART_BYTES)?;
        let section = section1_from_mashup(&bytes)?;
        let queries = mashup::parse_section(&section);
        if !queries.is_empty() {
            return Ok(model_view(&queries));
        }
    }
    if has_model {
        return Ok(PbixServiceView {
            kind: PbixKind::Model,
            model_readable: false,
            datasources: Vec::new(),
            parameters: Vec::new(),
            direct_query: false,
        });
    }
    Err(PbixError::NoModel)
}

/// The view of a live-connection file: no model of its own; SSAS reports its server.
fn live_view(kind: PbixKind) -> PbixServiceView {
    let datasources = match &kind {
        PbixKind::AnalysisServicesLive { server, database } => vec![PbixDatasource {
            datasource_type: "AnalysisServices".into(),
            connection_details: [("server", server), ("database", database)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect(),
            ..PbixDatasource::default()
        }],
        _ => Vec::new(),
    };
    PbixServiceView {
        kind,
        model_readable: true,
        datasources,
        parameters: Vec::new(),
        direct_query: false,
    }
}

fn malformed(part: &str, reason: String) -> PbixError {
    PbixError::Malformed {
        part: part.to_string(),
        reason,
    }
}

fn dedupe(list: &mut Vec<PbixDatasource>) {
    let mut seen: Vec<PbixDatasource> = Vec::new();
    list.retain(|d| {
        let new = !seen.contains(d);
        if new {
            seen.push(d.clone());
        }
        new
    });
}

fn model_view(queries: &[mashup::Query]) -> PbixServiceView {
    PbixServiceView {
        kind: PbixKind::Model,
        model_readable: true,
        datasources: mashup::datasources(queries),
        parameters: mashup::parameters(queries),
        direct_query: false,
    }
}

/// Reads one part fully, never more than `limit` decompressed bytes.
fn read_part<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, PbixError> {
    let entry = zip
        .by_name(name)
        .map_err(|e| malformed(name, e.to_string()))?;
    if entry.size() > limit {
        return Err(PbixError::EntryTooLarge {
            part: name.to_string(),
            limit,
        });
    }
    let mut buf = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| malformed(name, e.to_string()))?;
    if buf.len() as u64 > limit {
        return Err(PbixError::EntryTooLarge {
            part: name.to_string(),
            limit,
        });
    }
    Ok(buf)
}

/// UTF-8 or UTF-16 (LE/BE), with or without BOM (§1 "encoding rule of thumb").
fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |b: &[u8], le: bool| {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| "invalid UTF-16 text".to_string())
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| "invalid UTF-8 text".into())
        }
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        [a, 0, ..] if *a != 0 => utf16(bytes, true),
        [0, b, ..] if *b != 0 => utf16(bytes, false),
        _ => String::from_utf8(bytes.to_vec()).map_err(|_| "invalid UTF-8 text".into()),
    }
    .map(|s| s.trim_start_matches('\u{feff}').to_string())
}

/// `Connections` → live-connection kind, or `None` (absent, RemoteArtifacts only, other type).
fn live_connection<R: Read + Seek>(zip: &mut ZipArchive<R>) -> Result<Option<PbixKind>, PbixError> {
    if zip.index_for_name("Connections").is_none() {
        return Ok(None);
    }
    let text = decode_text(&read_part(zip, "Connections", MAX_SMALL_PART_BYTES)?)
        .map_err(|r| malformed("Connections", r))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| malformed("Connections", e.to_string()))?;
    let get = |v: &serde_json::Value, key: &str| -> Option<String> {
        v.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    };
    let first = json
        .as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Connections"))
        })
        .and_then(|(_, v)| v.as_array())
        .and_then(|a| a.first());
    let Some(conn) = first else {
        return Ok(None);
    };
    let connection_string = get(conn, "ConnectionString").unwrap_or_default();
    let props = connection_properties(&connection_string);
    let prop = |k: &str| {
        props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let kind = match get(conn, "ConnectionType").as_deref() {
        Some("pbiServiceLive" | "pbiServiceXmlaStyleLive") => {
            let dataset_id = get(conn, "PbiModelDatabaseName")
                .filter(|s| !s.is_empty())
                .or_else(|| prop("Initial Catalog"))
                .ok_or_else(|| {
                    malformed(
                        "Connections",
                        "live connection names no dataset (PbiModelDatabaseName / Initial Catalog)"
                            .into(),
                    )
                })?;
            PbixKind::ThinReport {
                dataset_id,
                connection_string,
            }
        }
        Some("analysisServicesDatabaseLive") => PbixKind::AnalysisServicesLive {
            server: prop("Data Source").unwrap_or_default(),
            database: prop("Initial Catalog").unwrap_or_default(),
        },
        _ => return Ok(None),
    };
    Ok(Some(kind))
}

/// Splits `Key=Value;Key="quoted; value"` connection strings.
fn connection_properties(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
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

/// MS-QDEFF (§3): `u32 version | u32 len | inner ZIP | ...` → `Formulas/Section1.m`.
fn section1_from_mashup(bytes: &[u8]) -> Result<String, PbixError> {
    let bad = |r: &str| malformed("DataMashup", r.to_string());
    let header = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let len = header(4).ok_or_else(|| bad("shorter than its 8-byte header"))?;
    let inner = bytes
        .get(8..8usize.saturating_add(len))
        .ok_or_else(|| bad("package length runs past the end of the part"))?;
    let mut zip = ZipArchive::new(Cursor::new(inner))
        .map_err(|e| bad(&format!("inner package is not a ZIP: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(PbixError::TooManyEntries(zip.len()));
    }
    if zip.index_for_name("Formulas/Section1.m").is_none() {
        return Ok(String::new());
    }
    let m = read_part(&mut zip, "Formulas/Section1.m", MAX_SMALL_PART_BYTES)?;
    decode_text(&m).map_err(|r| malformed("DataMashup/Formulas/Section1.m", r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn read_part_caps_decompressed_size() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            w.start_file("Big", zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(&[b'a'; 1000]).unwrap();
            w.finish().unwrap();
        }
        let mut zip = ZipArchive::new(Cursor::new(buf.into_inner())).unwrap();
        assert!(matches!(
            read_part(&mut zip, "Big", 10),
            Err(PbixError::EntryTooLarge { .. })
        ));
        assert_eq!(read_part(&mut zip, "Big", 1000).unwrap().len(), 1000);
    }

    #[test]
    fn text_decoding_and_connection_strings() {
        assert_eq!(decode_text(b"\xEF\xBB\xBF{}").unwrap(), "{}");
        assert_eq!(decode_text(&[b'{', 0, b'}', 0]).unwrap(), "{}");
        assert_eq!(decode_text(&[0xFE, 0xFF, 0, b'{', 0, b'}']).unwrap(), "{}");
        assert!(decode_text(&[0xFF, 0xFE, 0x00, 0xD8]).is_err());
        let props = connection_properties(
            "Data Source=.\\tab17;Initial Catalog=Db;Identity Provider=\"a; b\";X=1",
        );
        assert_eq!(props[0], ("Data Source".into(), ".\\tab17".into()));
        assert_eq!(props[2].1, "a; b");
        assert_eq!(props[3], ("X".into(), "1".into()));
    }

    #[test]
    fn truncated_mashup_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            &[0, 0, 0, 0, 255, 255, 255, 255][..],
            &[0; 12][..],
        ] {
            assert!(section1_from_mashup(bytes).is_err());
        }
    }
}
