//! The XPress9 decoder (and the ABF/metadata reader behind it) on arbitrary bytes: each must
//! return a value or an error, never panic, hang or run away with memory.
//!
//! The first input byte picks the mode. Odd: the bytes are a whole `DataModel` part. Even:
//! they are the frames after a single-threaded signature, and the first block header's
//! CRC-32C is recomputed, so mutations reach the Huffman and LZ77 decoding instead of
//! stopping at the checksum.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pbix::datamodel::{Limits, decode_xpress9_stream, read_data_model};

const SIGNATURE: &str = "This backup was created using XPress9 compression.";

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

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
