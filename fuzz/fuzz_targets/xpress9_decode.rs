//! The XPress9 decoder (and the ABF/metadata reader behind it) on arbitrary bytes: each must
//! return a value or an error, never panic, hang or run away with memory.
//!
//! The first input byte picks the mode. Odd: the bytes are a whole `DataModel` part. Even:
//! they are the frames after a single-threaded signature, and the first block header's
//! CRC-32C is recomputed, so mutations reach the Huffman and LZ77 decoding instead of
//! stopping at the checksum.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pbix::datamodel::xpress9::crc32c;
use pbix::datamodel::{Limits, decode_xpress9_stream, read_data_model};

const SIGNATURE: &str = "This backup was created using XPress9 compression.";

fn framed(frames: &[u8]) -> Vec<u8> {
    let mut part: Vec<u8> = SIGNATURE.encode_utf16().flat_map(u16::to_le_bytes).collect();
    part.resize(102, 0);
    let header = part.len() + 8;
    part.extend_from_slice(frames);
    if part.len() >= header + 32 {
        let crc = crc32c(&part[header..header + 28]);
        part[header + 28..header + 32].copy_from_slice(&crc.to_le_bytes());
    }
    part
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let part = if mode & 1 == 1 { rest.to_vec() } else { framed(rest) };
    let limits = Limits {
        max_abf_size: 64 << 20,
        max_metadata_size: 8 << 20,
        ..Limits::default()
    };
    let _ = decode_xpress9_stream(part.as_slice(), std::io::sink(), &limits);
    let _ = read_data_model(part.as_slice(), &limits);
});
