//! Canonical Huffman codes of XPress9: reading the code-length tables from the stream and
//! decoding symbols with them.
//!
//! Codes are canonical in the DEFLATE sense (shorter codes first, ties by symbol) and are
//! stored most significant bit first in the LSB-first stream. A code-length table is either
//! "flat" (mode 0: the first 2^(m+1) - n symbols take m = floor(log2 n) bits, the rest m + 1)
//! or "coded" (mode 1): the lengths are written through a 33-symbol helper code whose extra
//! symbols fill zeros to the next 16-symbol row, repeat zeros, repeat the previous length,
//! or copy the length from the row above (plus 0 or 1). Both the helper and the final codes
//! must be complete prefix codes, except that a single used symbol is allowed.

use super::bits::BitReader;
use crate::datamodel::DataModelError;

/// Longest code XPress9 produces or accepts.
pub(super) const MAX_CODE_LENGTH: usize = 27;
/// Rows of the coded length table: the "fill" and "row" opcodes work on groups of 16.
const FILL_BOUNDARY: usize = 16;
const HELPER_ALPHABET: usize = MAX_CODE_LENGTH + 6;
const OP_FILL: u32 = MAX_CODE_LENGTH as u32 + 1;
const OP_ZERO_RUN: u32 = MAX_CODE_LENGTH as u32 + 2;
const OP_PREVIOUS: u32 = MAX_CODE_LENGTH as u32 + 3;
const OP_ROW: u32 = MAX_CODE_LENGTH as u32 + 4;
const OP_ROW_PLUS_ONE: u32 = MAX_CODE_LENGTH as u32 + 5;
const ZERO_RUN_MIN: usize = 5;

fn corrupt(what: &str) -> DataModelError {
    DataModelError::Corrupt(format!("XPress9 Huffman table: {what}"))
}

/// A decoding table: one lookup of `root_bits` bits resolves every code that short; longer
/// (rare) codes are resolved bit by bit from the canonical counts.
pub(super) struct HuffmanDecoder {
    /// `(symbol << 8) | length` per root index; 0 marks a prefix of a longer code.
    table: Vec<u32>,
    root_bits: u32,
    /// Codes per length, and the symbols ordered by (length, symbol).
    counts: [u32; MAX_CODE_LENGTH + 1],
    sorted: Vec<u16>,
}

impl HuffmanDecoder {
    pub(super) fn new(lengths: &[u8], root_bits: u32) -> Result<Self, DataModelError> {
        let mut counts = [0u32; MAX_CODE_LENGTH + 1];
        for &len in lengths {
            let len = usize::from(len);
            if len > MAX_CODE_LENGTH {
                return Err(corrupt("a code is longer than 27 bits"));
            }
            counts[len] += 1;
        }
        counts[0] = 0;
        let used: u32 = counts.iter().sum();
        let mut table = vec![0u32; 1 << root_bits];
        if used == 0 {
            return Err(corrupt("no symbol has a code"));
        }
        if used == 1 {
            // A lone symbol: every lookup yields it, consuming its stated length.
            if let Some((symbol, &len)) = lengths.iter().enumerate().find(|(_, l)| **l != 0) {
                table.fill(((symbol as u32) << 8) | u32::from(len));
            }
            return Ok(HuffmanDecoder {
                table,
                root_bits,
                counts,
                sorted: Vec::new(),
            });
        }
        // The code must be complete: no gaps, no over-subscription.
        let mut left: i64 = 1;
        for &count in &counts[1..] {
            left = left * 2 - i64::from(count);
            if left < 0 {
                return Err(corrupt("the code lengths over-subscribe the code space"));
            }
        }
        if left != 0 {
            return Err(corrupt(
                "the code lengths leave part of the code space unused",
            ));
        }
        let mut offsets = [0usize; MAX_CODE_LENGTH + 2];
        for len in 1..=MAX_CODE_LENGTH {
            offsets[len + 1] = offsets[len] + counts[len] as usize;
        }
        let mut sorted = vec![0u16; used as usize];
        let mut next = offsets;
        for (symbol, &len) in lengths.iter().enumerate() {
            if len != 0 {
                sorted[next[usize::from(len)]] = symbol as u16;
                next[usize::from(len)] += 1;
            }
        }
        // Fill the root table with every code of at most `root_bits` bits.
        let mut code: u32 = 0;
        for len in 1..=MAX_CODE_LENGTH {
            let range = offsets[len]..offsets[len + 1];
            if len as u32 <= root_bits {
                for &symbol in &sorted[range] {
                    let reversed = code.reverse_bits() >> (32 - len as u32);
                    let entry = (u32::from(symbol) << 8) | len as u32;
                    let mut index = reversed as usize;
                    while index < table.len() {
                        table[index] = entry;
                        index += 1 << len;
                    }
                    code += 1;
                }
            } else {
                code += counts[len];
            }
            code <<= 1;
        }
        Ok(HuffmanDecoder {
            table,
            root_bits,
            counts,
            sorted,
        })
    }

    /// Decodes one symbol; the reader must hold at least 27 bits (call `refill` first).
    #[inline(always)]
    pub(super) fn decode(&self, bits: &mut BitReader<'_>) -> Result<u32, DataModelError> {
        let entry = self.table[bits.peek(self.root_bits) as usize];
        if entry != 0 {
            bits.consume(entry & 0xff);
            return Ok(entry >> 8);
        }
        self.decode_long(bits)
    }

    #[cold]
    fn decode_long(&self, bits: &mut BitReader<'_>) -> Result<u32, DataModelError> {
        let window = bits.peek(MAX_CODE_LENGTH as u32);
        let (mut code, mut first, mut index) = (0i64, 0i64, 0i64);
        for len in 1..=MAX_CODE_LENGTH {
            code |= ((window >> (len - 1)) & 1) as i64;
            let count = i64::from(self.counts[len]);
            if code - first < count {
                bits.consume(len as u32);
                let at = (index + code - first) as usize;
                return self
                    .sorted
                    .get(at)
                    .map(|s| u32::from(*s))
                    .ok_or_else(|| corrupt("a code points outside the table"));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(corrupt("a bit pattern matches no code"))
    }
}

/// Reads one code-length table of `lengths.len()` symbols.
pub(super) fn read_lengths(
    bits: &mut BitReader<'_>,
    lengths: &mut [u8],
) -> Result<(), DataModelError> {
    bits.refill();
    match bits.read(3) {
        0 => {
            fill_flat(lengths);
            Ok(())
        }
        1 => read_coded(bits, lengths),
        _ => Err(corrupt("unknown table encoding")),
    }
}

fn fill_flat(lengths: &mut [u8]) {
    let n = lengths.len();
    let msb = usize::BITS - 1 - n.leading_zeros();
    let short = (1usize << (msb + 1)) - n;
    for (i, len) in lengths.iter_mut().enumerate() {
        *len = if i < short { msb as u8 } else { msb as u8 + 1 };
    }
}

/// The helper code's own lengths: each is "same as before" (one 0 bit) or a 3-bit value that
/// skips the previous one (values at or above it are stored minus one).
fn read_helper_lengths(bits: &mut BitReader<'_>) -> Result<[u8; HELPER_ALPHABET], DataModelError> {
    let mut helper = [0u8; HELPER_ALPHABET];
    let mut previous = 4u64;
    for slot in helper.iter_mut() {
        bits.refill();
        if bits.read(1) != 0 {
            let mut value = bits.read(3);
            if value >= previous {
                value += 1;
                if value > 8 {
                    return Err(corrupt("a helper code length exceeds 8"));
                }
            }
            previous = value;
        }
        *slot = previous as u8;
    }
    Ok(helper)
}

fn read_coded(bits: &mut BitReader<'_>, lengths: &mut [u8]) -> Result<(), DataModelError> {
    let helper = HuffmanDecoder::new(&read_helper_lengths(bits)?, 8)?;
    let n = lengths.len();
    let mut previous = 8u8;
    let mut i = 0;
    while i < n {
        bits.refill();
        if bits.overrun() {
            return Err(DataModelError::Truncated("an XPress9 Huffman table".into()));
        }
        let op = helper.decode(bits)?;
        match op {
            0..=27 => {
                lengths[i] = op as u8;
                if op != 0 {
                    previous = op as u8;
                }
                i += 1;
            }
            OP_FILL => loop {
                lengths[i] = 0;
                i += 1;
                if i % FILL_BOUNDARY == 0 || i >= n {
                    break;
                }
            },
            OP_ZERO_RUN => {
                let mut extra = bits.read(2) as usize;
                let mut run = extra + ZERO_RUN_MIN;
                if extra == 3 {
                    loop {
                        bits.refill();
                        extra = bits.read(3) as usize;
                        run += extra;
                        check_run(i, run, n)?;
                        if extra != 7 {
                            break;
                        }
                        if bits.overrun() {
                            return Err(DataModelError::Truncated(
                                "an XPress9 Huffman table".into(),
                            ));
                        }
                    }
                }
                check_run(i, run, n)?;
                lengths[i..i + run].fill(0);
                i += run;
            }
            OP_PREVIOUS => {
                lengths[i] = previous;
                i += 1;
            }
            OP_ROW | OP_ROW_PLUS_ONE => {
                let above = i
                    .checked_sub(FILL_BOUNDARY)
                    .map(|j| lengths[j])
                    .ok_or_else(|| corrupt("a row copy in the first row"))?;
                let len = if op == OP_ROW { above } else { above + 1 };
                if above == 0 || usize::from(len) > MAX_CODE_LENGTH {
                    return Err(corrupt("a row copy gives an invalid length"));
                }
                lengths[i] = len;
                previous = len;
                i += 1;
            }
            _ => return Err(corrupt("unknown length opcode")),
        }
    }
    Ok(())
}

/// A zero run must stay inside the table and inside its 16-symbol row.
fn check_run(i: usize, run: usize, n: usize) -> Result<(), DataModelError> {
    if i + run > n || (i ^ (i + run)) >= FILL_BOUNDARY {
        return Err(corrupt("a zero run crosses its row"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_tables_match_the_reference_split() {
        let mut main = [0u8; 704];
        fill_flat(&mut main);
        assert_eq!(main.iter().filter(|l| **l == 9).count(), 320);
        assert_eq!(main.iter().filter(|l| **l == 10).count(), 384);
        let mut long = [0u8; 256];
        fill_flat(&mut long);
        assert!(long.iter().all(|l| *l == 8));
    }

    #[test]
    fn incomplete_and_oversubscribed_codes_are_refused() {
        assert!(HuffmanDecoder::new(&[1, 2, 0, 0], 8).is_err());
        assert!(HuffmanDecoder::new(&[1, 1, 1], 8).is_err());
        assert!(HuffmanDecoder::new(&[0, 0], 8).is_err());
        assert!(HuffmanDecoder::new(&[1, 2, 2], 8).is_ok());
    }

    #[test]
    fn long_codes_decode_through_the_slow_path() {
        // Lengths 1, 2, ..., 15, 15: a complete code deeper than the 4-bit root.
        let mut lengths: Vec<u8> = (1..=15).collect();
        lengths.push(15);
        let decoder = HuffmanDecoder::new(&lengths, 4).unwrap();
        // Symbol 14 (15 bits) has code 0b111111111111110, written MSB first.
        let code: u32 = 0b111_1111_1111_1110;
        let stream = (code.reverse_bits() >> 17).to_le_bytes();
        let mut bits = BitReader::new(&stream);
        assert_eq!(decoder.decode(&mut bits).unwrap(), 14);
        assert_eq!(bits.consumed(), 15);
    }
}
