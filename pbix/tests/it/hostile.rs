//! Files a pull request controls are refused with a plain reason, never read unbounded:
//! garbage after a ZIP signature, bombs, traversal names, duplicates, oversized or
//! non-JSON `Connections`, too many entries.

use std::io::{Cursor, Write};

use pbix::{Kind, Limits, Options, Pbix, PbixError};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

fn zip_of(entries: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, method) in entries {
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(*method),
        )
        .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn open(bytes: Vec<u8>) -> Result<Pbix, PbixError> {
    Pbix::from_reader(Cursor::new(bytes), false, &Options::default())
}

const LIVE: &[u8] = br#"{"Version":2,"Connections":[{"ConnectionString":"Data Source=pbiazure://api.powerbi.com;Initial Catalog=11111111-2222-3333-4444-555555555555","ConnectionType":"pbiServiceLive"}]}"#;

#[test]
fn a_thin_report_reads_and_names_its_dataset() {
    let bytes = zip_of(&[("Connections", LIVE, CompressionMethod::Deflated)]);
    let file = open(bytes).unwrap();
    assert!(
        matches!(file.kind, Kind::ThinReport(pbix::LiveConnection::PowerBiDataset { ref dataset, .. })
        if dataset == "11111111-2222-3333-4444-555555555555")
    );
}

#[test]
fn garbage_after_the_zip_signature_is_not_a_zip() {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend(std::iter::repeat_n(0x5a, 4000));
    let err = open(bytes).unwrap_err();
    assert!(matches!(err, PbixError::NotZip(_)), "{err}");
    assert!(err.to_string().contains("not a valid ZIP archive"), "{err}");
}

#[test]
fn a_deflate_bomb_is_refused_by_its_ratio() {
    let zeros = vec![0u8; 8 << 20];
    let bytes = zip_of(&[
        ("Connections", LIVE, CompressionMethod::Deflated),
        ("Report/Layout", &zeros, CompressionMethod::Deflated),
    ]);
    let err = open(bytes).unwrap_err();
    assert!(
        matches!(err, PbixError::CompressionRatio { ref part, .. } if part == "Report/Layout"),
        "{err}"
    );
}

#[test]
fn traversal_and_absolute_names_are_refused() {
    for name in ["../../x", "/etc/x", "Report/../../x", "C:/x"] {
        let bytes = zip_of(&[
            ("Connections", LIVE, CompressionMethod::Deflated),
            (name, b"x", CompressionMethod::Stored),
        ]);
        let err = open(bytes).unwrap_err();
        assert!(matches!(err, PbixError::UnsafeName(_)), "{name}: {err}");
        assert!(err.to_string().contains("unsafe name"), "{err}");
    }
}

#[test]
fn a_second_entry_with_the_same_name_is_refused() {
    let other = br#"{"Version":1,"Connections":[{"ConnectionString":"Data Source=x;Initial Catalog=y","ConnectionType":"analysisServicesDatabaseLive"}]}"#;
    let mut bytes = zip_of(&[
        ("Connections", LIVE, CompressionMethod::Stored),
        ("Connectionz", other, CompressionMethod::Stored),
    ]);
    // Rename the second entry in its local and central headers: same length, same CRC.
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(11).position(|w| w == b"Connectionz") {
        bytes[at + i + 10] = b's';
        at += i + 11;
    }
    let err = open(bytes).unwrap_err();
    assert!(matches!(err, PbixError::DuplicateNames), "{err}");
    let bytes = zip_of(&[
        ("Connections", LIVE, CompressionMethod::Stored),
        ("connections", other, CompressionMethod::Stored),
    ]);
    let err = open(bytes).unwrap_err();
    assert!(
        matches!(err, PbixError::DuplicateName(ref n) if n == "connections"),
        "{err}"
    );
}

#[test]
fn connections_that_are_not_json_or_huge_are_refused() {
    let bytes = zip_of(&[("Connections", b"<xml/>", CompressionMethod::Deflated)]);
    let err = open(bytes).unwrap_err();
    assert!(
        err.to_string()
            .contains("part `Connections` is malformed: not JSON"),
        "{err}"
    );
    let mut huge = LIVE.to_vec();
    huge.extend(std::iter::repeat_n(b' ', 2 << 20));
    let bytes = zip_of(&[("Connections", &huge, CompressionMethod::Stored)]);
    let err = open(bytes).unwrap_err();
    assert!(
        matches!(err, PbixError::EntryTooLarge { ref part, .. } if part == "Connections"),
        "{err}"
    );
}

#[test]
fn too_many_entries_are_refused() {
    let names: Vec<String> = (0..20)
        .map(|i| format!("Report/StaticResources/{i}"))
        .collect();
    let entries: Vec<(&str, &[u8], CompressionMethod)> = names
        .iter()
        .map(|n| (n.as_str(), &b"x"[..], CompressionMethod::Stored))
        .collect();
    let options = Options {
        limits: Limits {
            max_entries: 10,
            ..Limits::default()
        },
        ..Options::default()
    };
    let err = Pbix::from_reader(Cursor::new(zip_of(&entries)), false, &options).unwrap_err();
    assert!(
        matches!(
            err,
            PbixError::TooManyEntries {
                count: 20,
                limit: 10
            }
        ),
        "{err}"
    );
}

#[test]
fn a_file_with_neither_model_nor_live_connection_is_refused() {
    let remote = br#"{"Version":3,"RemoteArtifacts":[{"DatasetId":"x","ReportId":"y"}]}"#;
    let bytes = zip_of(&[("Connections", remote, CompressionMethod::Deflated)]);
    assert!(matches!(open(bytes), Err(PbixError::NoModel)));
}

#[test]
fn a_schema_over_its_cap_is_refused_before_parsing() {
    let schema = br#"{"model":{"tables":[]}}"#;
    let bytes = zip_of(&[("DataModelSchema", schema, CompressionMethod::Stored)]);
    let options = Options {
        limits: Limits {
            max_schema_bytes: 8,
            ..Limits::default()
        },
        ..Options::default()
    };
    let err = Pbix::from_reader(Cursor::new(bytes), false, &options).unwrap_err();
    assert!(
        matches!(err, PbixError::EntryTooLarge { ref part, limit: 8, .. } if part == "DataModelSchema"),
        "{err}"
    );
}
