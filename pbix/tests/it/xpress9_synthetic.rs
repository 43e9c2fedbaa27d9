//! Hand-built XPress9 blocks (flat Huffman tables, literals and one match): they decode,
//! and each broken variant fails with the error that names its fault. Needs no fixtures.

use pbix::datamodel::xpress9::crc32c;
use pbix::datamodel::{DataModelError, Limits, decode_xpress9_stream};

/// LSB-first bit writer, the order XPress9 reads.
#[derive(Default)]
struct Bits(Vec<bool>);

impl Bits {
    fn put(&mut self, value: u32, n: u32) {
        (0..n).for_each(|i| self.0.push((value >> i) & 1 == 1));
    }
    /// A main-alphabet symbol under the flat table: symbols below 320 take 9 bits, the rest
    /// 10, canonical codes written most significant bit first.
    fn symbol(&mut self, symbol: u32) {
        let (code, len) = if symbol < 320 {
            (symbol, 9)
        } else {
            (640 + symbol - 320, 10)
        };
        (0..len)
            .rev()
            .for_each(|i| self.0.push((code >> i) & 1 == 1));
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.0.len().div_ceil(8)];
        for (i, bit) in self.0.iter().enumerate() {
            out[i / 8] |= u8::from(*bit) << (i % 8);
        }
        out
    }
}

/// A DataModel part with one block: `prefix` literals, then a match of `len` bytes at
/// `offset` (2^2 <= offset < 2^3), then `suffix` literals; window 2^16, no recent offsets.
fn part(
    prefix: &[u8],
    offset: u32,
    len: u32,
    suffix: &[u8],
    declared: u32,
    extra_bits: u32,
) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(0, 3); // main table: flat
    bits.put(0, 3); // long-length table: flat
    prefix.iter().for_each(|b| bits.symbol(u32::from(*b)));
    bits.symbol(256 + 2 * 16 + (len - 3));
    bits.put(offset - 4, 2);
    suffix.iter().for_each(|b| bits.symbol(u32::from(*b)));
    let total_bits = 256 + bits.0.len() as u32 + extra_bits;
    let mut block = Vec::new();
    for word in [0x4E86_D72A, declared, total_bits, 6, 0, 0x1234, 0] {
        block.extend_from_slice(&u32::to_le_bytes(word));
    }
    block.extend_from_slice(&crc32c(&block).to_le_bytes());
    block.extend_from_slice(&bits.bytes());
    block.resize(total_bits.div_ceil(8) as usize, 0);
    let mut out: Vec<u8> = "This backup was created using XPress9 compression."
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    out.resize(102, 0);
    out.extend_from_slice(&declared.to_le_bytes());
    out.extend_from_slice(&(block.len() as u32).to_le_bytes());
    out.extend_from_slice(&block);
    out
}

fn decode(input: &[u8]) -> Result<Vec<u8>, DataModelError> {
    let mut out = Vec::new();
    decode_xpress9_stream(input, &mut out, &Limits::default())?;
    Ok(out)
}

#[test]
fn literals_and_an_overlapping_match_decode() {
    let input = part(b"hello, ", 7, 12, b"!", 20, 0);
    assert_eq!(decode(&input).unwrap(), b"hello, hello, hello!");
}

#[test]
fn each_broken_block_names_its_fault() {
    let cases = [
        // The match reaches back 7 bytes after only 3.
        (part(b"hey", 7, 4, b"", 7, 0), "before the start"),
        // The block declares 10 bytes; the match runs to 19.
        (
            part(b"hello, ", 7, 12, b"", 10, 0),
            "past the end of the block",
        ),
        // Eight bits more are declared than the tokens use.
        (part(b"hello, ", 7, 12, b"!", 20, 8), "different bit"),
    ];
    for (input, expected) in cases {
        let error = decode(&input).unwrap_err();
        assert!(matches!(error, DataModelError::Corrupt(_)), "{error}");
        assert!(error.to_string().contains(expected), "{error}");
    }
}
