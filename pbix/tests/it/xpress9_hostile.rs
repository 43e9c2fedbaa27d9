//! Hostile DataModel parts: truncation, corruption, decompression bombs and the
//! multithreaded layout (built from real frames). Every failure is an error, never a panic.

use crate::common;

use pbix::datamodel::{DataModelError, Limits, decode_xpress9_stream, read_data_model};
use sha2::{Digest, Sha256};

const SIGNATURE_LEN: usize = 102;

fn signature(text: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    bytes.resize(SIGNATURE_LEN, 0);
    bytes
}

/// The frames (`decoded size`, whole frame bytes including its 8-byte sizes) of a fixture.
fn frames(file: &str) -> Vec<(u32, Vec<u8>)> {
    let bytes = common::data_model_bytes(file);
    let mut at = SIGNATURE_LEN;
    let mut out = Vec::new();
    while at < bytes.len() {
        let decoded = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let encoded = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push((decoded, bytes[at..at + 8 + encoded].to_vec()));
        at += 8 + encoded;
    }
    out
}

fn decode(input: &[u8], limits: &Limits) -> Result<(u64, String), DataModelError> {
    let mut out = Vec::new();
    let size = decode_xpress9_stream(input, &mut out, limits)?;
    assert_eq!(size, out.len() as u64);
    Ok((size, hex::encode(Sha256::digest(&out))))
}

fn fixtures_present() -> bool {
    common::expected_models().is_some()
}

#[test]
fn truncated_parts_are_errors_at_every_cut() {
    if !fixtures_present() {
        return;
    }
    let bytes = common::data_model_bytes("abc.pbix");
    let limits = Limits::default();
    let mut cuts: Vec<usize> = (0..bytes.len()).step_by(251).collect();
    cuts.extend([1, 101, 102, 105, 110, 140, bytes.len() - 1]);
    for cut in cuts {
        let error = decode(&bytes[..cut], &limits).err();
        // A cut exactly after a frame would be a shorter valid stream; abc has one frame.
        let error = error.unwrap_or_else(|| panic!("cut at {cut} decoded"));
        assert!(
            matches!(error, DataModelError::Truncated(_)),
            "cut at {cut}: {error}"
        );
        assert!(
            read_data_model(&bytes[..cut], &limits).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn corrupt_bytes_give_errors_or_other_bytes_never_a_panic() {
    if !fixtures_present() {
        return;
    }
    let bytes = common::data_model_bytes("directquery-parameters.pbix");
    let (_, reference) = decode(&bytes, &Limits::default()).unwrap();
    let mut errors = 0;
    for at in (SIGNATURE_LEN..bytes.len()).step_by(331) {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut corrupt = bytes.clone();
            corrupt[at] ^= mask;
            match decode(&corrupt, &Limits::default()) {
                Err(_) => errors += 1,
                // XPress9 has no checksum over the data: a flip may decode to other bytes.
                Ok((_, hash)) => assert_ne!(hash, reference, "flip at {at} changed nothing"),
            }
            let _ = read_data_model(corrupt.as_slice(), &Limits::default());
        }
    }
    assert!(errors > 0);
}

#[test]
fn a_corrupt_block_header_is_named() {
    if !fixtures_present() {
        return;
    }
    let mut bytes = common::data_model_bytes("abc.pbix");
    bytes[SIGNATURE_LEN + 8 + 24] ^= 1; // block index
    let error = decode(&bytes, &Limits::default()).unwrap_err();
    assert!(error.to_string().contains("checksum"), "{error}");
}

#[test]
fn declared_sizes_are_capped_before_any_work() {
    if !fixtures_present() {
        return;
    }
    let (_, frame) = frames("abc.pbix").remove(0);
    // A frame declaring 4 GiB of output.
    let mut bomb = signature("This backup was created using XPress9 compression.");
    let mut huge = frame.clone();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    bomb.extend_from_slice(&huge);
    let error = decode(&bomb, &Limits::default()).unwrap_err();
    assert!(matches!(error, DataModelError::TooLarge { .. }), "{error}");
    // A compressed size far beyond what the decoded size needs.
    let mut bloated = signature("This backup was created using XPress9 compression.");
    let mut big = frame.clone();
    big[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bloated.extend_from_slice(&big);
    assert!(matches!(
        decode(&bloated, &Limits::default()),
        Err(DataModelError::Corrupt(_))
    ));
    // The total output cap.
    let small = Limits {
        max_abf_size: 100_000,
        ..Limits::default()
    };
    let whole = common::data_model_bytes("abc.pbix");
    let error = decode(&whole, &small).unwrap_err();
    assert!(error.to_string().contains("limit of 100000"), "{error}");
    // A multithreaded header announcing 2^64 frames.
    let mut counts = signature("This backup was created using multithreaded XPrs9.");
    for value in [u64::MAX, 0, 0, 2, 2 << 20] {
        counts.extend_from_slice(&value.to_le_bytes());
    }
    assert!(matches!(
        decode(&counts, &Limits::default()),
        Err(DataModelError::TooLarge { .. })
    ));
    // A huge thread count with no frames per thread: no work, and an error.
    let mut idle = signature("This backup was created using multithreaded XPrs9.");
    for value in [0, 0, u64::MAX, u64::MAX, 2 << 20] {
        idle.extend_from_slice(&value.to_le_bytes());
    }
    assert!(matches!(
        decode(&idle, &Limits::default()),
        Err(DataModelError::Truncated(_))
    ));
    // The metadata cap.
    let tight = Limits {
        max_metadata_size: 4096,
        ..Limits::default()
    };
    let error = read_data_model(whole.as_slice(), &tight).unwrap_err();
    assert!(matches!(error, DataModelError::TooLarge { .. }), "{error}");
}

#[test]
fn an_unknown_signature_is_unsupported() {
    let input = signature("This backup was created using XPress10 compression.");
    let error = decode(&input, &Limits::default()).unwrap_err();
    assert!(matches!(error, DataModelError::Unsupported(_)), "{error}");
}

/// The multithreaded layout: each thread's frames are one session of their own.
fn multithreaded(prefix: &[&[Vec<u8>]], main: &[&[Vec<u8>]]) -> Vec<u8> {
    let mut out = signature("This backup was created using multithreaded XPrs9.");
    let per = |groups: &[&[Vec<u8>]]| groups.first().map_or(0, |g| g.len()) as u64;
    for value in [
        per(main),
        per(prefix),
        prefix.len() as u64,
        main.len() as u64,
        2 << 20,
    ] {
        out.extend_from_slice(&value.to_le_bytes());
    }
    for frame in prefix.iter().chain(main).flat_map(|g| g.iter()) {
        out.extend_from_slice(frame);
    }
    out
}

#[test]
fn the_multithreaded_layout_decodes_each_thread_as_its_own_session() {
    if !fixtures_present() {
        return;
    }
    let files = [
        "abc.pbix",
        "Excalidraw.pbix",
        "empty-schema-calc-only.pbix",
        "Regional Sales Sample.pbix",
    ];
    let session = |file: &str| frames(file).into_iter().map(|(_, f)| f).collect::<Vec<_>>();
    let (abc, excalidraw, empty, regional) = (
        session(files[0]),
        session(files[1]),
        session(files[2]),
        session(files[3]),
    );
    assert_eq!(
        (abc.len(), regional.len()),
        (1, 2),
        "fixture frame counts changed"
    );
    // Prefix: one thread; main: two threads of one frame; then a thread of two frames.
    let mut expected = Vec::new();
    for file in &files[..3] {
        let mut abf = Vec::new();
        decode_xpress9_stream(
            common::data_model_bytes(file).as_slice(),
            &mut abf,
            &Limits::default(),
        )
        .unwrap();
        expected.extend(abf);
    }
    let input = multithreaded(&[&abc], &[&excalidraw, &empty]);
    let (size, hash) = decode(&input, &Limits::default()).unwrap();
    assert_eq!(size, expected.len() as u64);
    assert_eq!(hash, hex::encode(Sha256::digest(&expected)));
    // A two-frame thread keeps its history across its frames.
    let input = multithreaded(&[], &[&regional]);
    let (_, hash) = decode(&input, &Limits::default()).unwrap();
    let mut abf = Vec::new();
    decode_xpress9_stream(
        common::data_model_bytes(files[3]).as_slice(),
        &mut abf,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(hash, hex::encode(Sha256::digest(&abf)));
    // Fewer frames than announced, or bytes after the last one, are errors.
    let mut short = multithreaded(&[], &[&regional]);
    short.truncate(short.len() - regional[1].len());
    assert!(matches!(
        decode(&short, &Limits::default()),
        Err(DataModelError::Truncated(_))
    ));
    let mut long = multithreaded(&[&abc], &[]);
    long.push(0);
    assert!(matches!(
        decode(&long, &Limits::default()),
        Err(DataModelError::Corrupt(_))
    ));
    // Two frames of one session split across threads: the second restarts at block 0.
    let split = multithreaded(&[], &[&regional[..1], &regional[1..]]);
    assert!(decode(&split, &Limits::default()).is_err());
}
