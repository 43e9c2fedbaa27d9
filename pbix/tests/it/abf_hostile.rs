//! The ABF and SQLite layers validate what they read: a real backup (decoded from a fixture)
//! is altered in one place and fed back through the uncompressed layout, which passes the
//! backup through as is. Each alteration gives an error that names what is wrong.

use crate::common;

use pbix::datamodel::{DataModelError, Limits, decode_xpress9_stream, read_data_model};

fn abf(file: &str) -> Vec<u8> {
    let mut out = Vec::new();
    decode_xpress9_stream(
        common::data_model_bytes(file).as_slice(),
        &mut out,
        &Limits::default(),
    )
    .unwrap();
    out
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Replaces the first `from` (at or after `start`) with `to`, which has the same length.
fn replace(bytes: &mut [u8], start: usize, from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let at = start
        + bytes[start..]
            .windows(from.len())
            .position(|w| w == from)
            .expect("pattern present");
    bytes[at..at + to.len()].copy_from_slice(to);
    at
}

fn error_of(bytes: &[u8]) -> DataModelError {
    read_data_model(bytes, &Limits::default()).expect_err("the altered backup must be refused")
}

#[test]
fn an_unaltered_backup_reads_through_the_uncompressed_layout() {
    if common::expected_models().is_none() {
        return;
    }
    let model = read_data_model(abf("abc.pbix").as_slice(), &Limits::default()).unwrap();
    let names: Vec<&str> = model.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ABC", "BrokenColumns"]);
}

#[test]
fn each_altered_backup_names_its_fault() {
    if common::expected_models().is_none() {
        return;
    }
    let original = abf("directquery-parameters.pbix");
    let sqlite = original
        .windows(16)
        .position(|w| w == b"SQLite format 3\0")
        .unwrap();
    let mut cases: Vec<(Vec<u8>, &str)> = Vec::new();

    let mut b = original.clone();
    replace(
        &mut b,
        72,
        &utf16("<m_cbOffsetHeader>3"),
        &utf16("<m_cbOffsetHeader>9"),
    );
    cases.push((b, "directory lies outside the backup"));

    let mut b = original.clone();
    replace(
        &mut b,
        72,
        &utf16("<ApplyCompression>false"),
        &utf16("<ApplyCompression>true "),
    );
    cases.push((b, "XPress8"));

    let mut b = original.clone();
    replace(
        &mut b,
        72,
        &utf16("<EncryptionFlag>false"),
        &utf16("<EncryptionFlag>true "),
    );
    cases.push((b, "encrypted"));

    let mut b = original.clone();
    replace(&mut b, 4096, b"<Path>LOG</Path>", b"<Path>LOX</Path>");
    cases.push((b, "does not end with its LOG"));

    let mut b = original.clone();
    replace(
        &mut b,
        4096,
        &utf16("metadata.sqlitedb</Path>"),
        &utf16("metadata.sqliteXX</Path>"),
    );
    cases.push((b, "lists no metadata.sqlitedb"));

    let mut b = original.clone();
    b[sqlite + 31] ^= 1; // the database's page count
    b[sqlite + 95] ^= 1; // and its valid-for counter, so the count stays trusted
    b[sqlite + 27] ^= 1;
    cases.push((b, "differs from its SQLite header"));

    let mut b = original.clone();
    b[sqlite + 100..sqlite + 4096].fill(0xff); // the schema page's b-tree
    cases.push((b, "metadata.sqlitedb:"));

    let mut b = original.clone();
    let directory = b
        .windows(18)
        .position(|w| w == b"<VirtualDirectory>")
        .unwrap();
    b.truncate(directory + 100); // the backup ends inside its directory
    cases.push((b, "directory lies outside the backup"));

    for (bytes, expected) in cases {
        let message = error_of(&bytes).to_string();
        assert!(
            message.contains(expected),
            "expected {expected:?} in: {message}"
        );
    }
}
