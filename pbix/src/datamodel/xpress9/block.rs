//! One XPress9 decoder session: a sequence of blocks sharing an LZ77 history window.
//!
//! A block is a 32-byte header (eight little-endian u32: magic, decoded size, encoded size in
//! bits including the header, flags, reserved zero, session signature, block index, CRC-32C
//! of the first 28 bytes) and a bit stream: an optional seed of the recent-offset list, the
//! two Huffman code-length tables, then LZ77 tokens. Every field is checked; a block must
//! decode to exactly its declared size and consume exactly its declared bits.

use super::bits::BitReader;
use super::huffman::{HuffmanDecoder, read_lengths};
use crate::datamodel::DataModelError;

const MAGIC: u32 = 0x4E86_D72A;
pub(super) const HEADER_LEN: usize = 32;
/// 256 literals + (24 offset bit counts + 4 recent-offset slots) x 16 short lengths.
const MAIN_ALPHABET: usize = 256 + (24 + 4) * 16;
const LONG_ALPHABET: usize = 256;
/// Long-length symbols at or above this carry Elias-gamma style extra bits.
const LONG_LENGTH_DIRECT: u32 = LONG_ALPHABET as u32 - 24;
const MAX_WINDOW_LOG2: u32 = 22;
const MAIN_ROOT_BITS: u32 = 11;
const LONG_ROOT_BITS: u32 = 10;

fn corrupt(what: impl Into<String>) -> DataModelError {
    DataModelError::Corrupt(format!("XPress9 block: {}", what.into()))
}

/// Parameters fixed by a session's first block; later blocks must repeat them.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Params {
    window_log2: u32,
    mtf_count: usize,
    ptr_min: usize,
    mtf_min: usize,
    signature: u32,
}

struct Header {
    decoded_len: u32,
    encoded_bits: u64,
    table_bits: u64,
    params: Params,
    index: u32,
}

fn parse_header(bytes: &[u8]) -> Result<Header, DataModelError> {
    let word = |i: usize| -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[i * 4..i * 4 + 4]);
        u32::from_le_bytes(w)
    };
    if bytes.len() < HEADER_LEN {
        return Err(DataModelError::Truncated("an XPress9 block header".into()));
    }
    if word(0) != MAGIC {
        return Err(corrupt("bad magic number"));
    }
    if word(4) != 0 {
        return Err(corrupt("reserved header field is not zero"));
    }
    if crc32c(&bytes[..28]) != word(7) {
        return Err(corrupt("header checksum mismatch"));
    }
    let flags = word(3);
    if flags >> 20 != 0 {
        return Err(corrupt("reserved flag bits are set"));
    }
    let mtf_count = (((flags >> 16) & 3) << 1) as usize;
    if mtf_count > 4 {
        return Err(corrupt("invalid recent-offset count"));
    }
    let window_log2 = ((flags >> 13) & 7) + 16;
    if window_log2 > MAX_WINDOW_LOG2 {
        return Err(DataModelError::Unsupported(format!(
            "an XPress9 window of 2^{window_log2} bytes (at most 2^{MAX_WINDOW_LOG2} is defined)"
        )));
    }
    let header = Header {
        decoded_len: word(1),
        encoded_bits: u64::from(word(2)),
        table_bits: u64::from(flags & 0x1fff),
        params: Params {
            window_log2,
            mtf_count,
            ptr_min: ((flags >> 18) & 1) as usize + 3,
            mtf_min: ((flags >> 19) & 1) as usize + 2,
            signature: word(5),
        },
        index: word(6),
    };
    if header.encoded_bits <= header.table_bits + 256 {
        return Err(corrupt("encoded size is smaller than its own tables"));
    }
    Ok(header)
}

/// CRC-32C (Castagnoli, reflected), as XPress9 block headers carry over their first 28
/// bytes; public so tests and the fuzz target can build valid headers.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Decoder state carried across the blocks of one session.
pub(super) struct Session {
    params: Option<Params>,
    next_index: u32,
    /// The retained history (at most two windows) followed by the block being decoded.
    buf: Vec<u8>,
}

/// Recent-offset ("move to front") list and whether the previous token was a match.
struct Recent {
    offsets: [usize; 4],
    last_was_match: bool,
}

impl Session {
    pub(super) fn new() -> Self {
        Session {
            params: None,
            next_index: 0,
            buf: Vec::new(),
        }
    }

    /// Decodes one block (`block` holds exactly its bytes) that the framing says decodes to
    /// `declared_len` bytes; returns the decoded bytes.
    pub(super) fn decode_block(
        &mut self,
        block: &[u8],
        declared_len: u32,
    ) -> Result<&[u8], DataModelError> {
        let header = parse_header(block)?;
        if header.decoded_len != declared_len {
            return Err(corrupt(format!(
                "frame says {declared_len} bytes but the block header says {}",
                header.decoded_len
            )));
        }
        if header.index != self.next_index {
            return Err(corrupt(format!(
                "block {} found where block {} was expected",
                header.index, self.next_index
            )));
        }
        match self.params {
            None => self.params = Some(header.params),
            Some(p) if p != header.params => {
                return Err(corrupt(
                    "block parameters differ from the session's first block",
                ));
            }
            Some(_) => {}
        }
        if header.encoded_bits.div_ceil(8) != block.len() as u64 {
            return Err(corrupt(format!(
                "frame holds {} bytes but the block header says {}",
                block.len(),
                header.encoded_bits.div_ceil(8)
            )));
        }
        self.next_index = self
            .next_index
            .checked_add(1)
            .ok_or_else(|| corrupt("too many blocks"))?;
        self.trim_history(header.params.window_log2);
        let start = self.buf.len();
        self.buf.resize(start + declared_len as usize, 0);
        let mut bits = BitReader::new(&block[HEADER_LEN..]);
        let result = decode_payload(&mut bits, &header, &mut self.buf, start);
        if let Err(error) = result {
            self.buf.truncate(start);
            return Err(error);
        }
        Ok(&self.buf[start..])
    }

    /// Keeps at most one window of history once two have accumulated (amortises the move).
    fn trim_history(&mut self, window_log2: u32) {
        let window = 1usize << window_log2;
        if self.buf.len() > 2 * window {
            let drop = self.buf.len() - window;
            self.buf.drain(..drop);
        }
    }
}

fn decode_payload(
    bits: &mut BitReader<'_>,
    header: &Header,
    out: &mut [u8],
    start: usize,
) -> Result<(), DataModelError> {
    let params = header.params;
    let mut recent = Recent {
        offsets: [0; 4],
        last_was_match: false,
    };
    if params.mtf_count > 0 {
        bits.refill();
        recent.last_was_match = bits.read(1) != 0;
        for slot in recent.offsets.iter_mut().take(params.mtf_count) {
            bits.refill();
            let msb = bits.read(5) as u32;
            if msb >= params.window_log2 {
                return Err(corrupt("a seeded offset exceeds the window"));
            }
            *slot = bits.read(msb) as usize + (1usize << msb);
        }
    }
    let mut main_lengths = [0u8; MAIN_ALPHABET];
    read_lengths(bits, &mut main_lengths)?;
    let main = HuffmanDecoder::new(&main_lengths, MAIN_ROOT_BITS)?;
    let mut long_lengths = [0u8; LONG_ALPHABET];
    read_lengths(bits, &mut long_lengths)?;
    let long = HuffmanDecoder::new(&long_lengths, LONG_ROOT_BITS)?;
    if bits.consumed() != header.table_bits {
        return Err(corrupt("the Huffman tables' size differs from the header"));
    }
    decode_tokens(bits, &main, &long, params, &mut recent, out, start)?;
    if bits.consumed() + 256 != header.encoded_bits {
        return Err(corrupt(
            "the data ends at a different bit than the header says",
        ));
    }
    Ok(())
}

fn decode_tokens(
    bits: &mut BitReader<'_>,
    main: &HuffmanDecoder,
    long: &HuffmanDecoder,
    params: Params,
    recent: &mut Recent,
    out: &mut [u8],
    start: usize,
) -> Result<(), DataModelError> {
    let end = out.len();
    let mut pos = start;
    while pos < end {
        bits.refill();
        if bits.overrun() {
            return Err(DataModelError::Truncated("an XPress9 block's data".into()));
        }
        let symbol = main.decode(bits)?;
        if symbol < 256 {
            out[pos] = symbol as u8;
            pos += 1;
            recent.last_was_match = false;
            continue;
        }
        let symbol = symbol - 256;
        let mut len = (symbol & 15) as usize;
        let slot = (symbol >> 4) as usize;
        if len == 15 {
            bits.refill();
            let mut long_len = long.decode(bits)?;
            if long_len >= LONG_LENGTH_DIRECT {
                let extra = long_len - LONG_LENGTH_DIRECT;
                long_len = bits.read(extra) as u32 + (1u32 << extra) + LONG_LENGTH_DIRECT - 1;
            }
            len = long_len as usize + 15;
        }
        let offset = if slot < params.mtf_count {
            len += params.mtf_min;
            recent.reuse(slot, params.mtf_count)?
        } else {
            len += params.ptr_min;
            let extra = (slot - params.mtf_count) as u32;
            let offset = bits.read(extra) as usize + (1usize << extra);
            recent.push(offset, params.mtf_count);
            offset
        };
        recent.last_was_match = true;
        if offset > pos {
            return Err(corrupt("a match reaches before the start of the data"));
        }
        if len > end - pos {
            return Err(corrupt("a match runs past the end of the block"));
        }
        copy_match(out, pos, offset, len);
        pos += len;
    }
    Ok(())
}

impl Recent {
    /// Reuses recent offset `slot` (shifted by one right after a match, whose own offset
    /// would be pointless to repeat) and moves it to the front.
    #[inline]
    fn reuse(&mut self, slot: usize, count: usize) -> Result<usize, DataModelError> {
        let index = slot + usize::from(self.last_was_match);
        if index >= count {
            return Err(corrupt("a recent-offset reference is out of range"));
        }
        let offset = self.offsets[index];
        self.offsets.copy_within(0..index, 1);
        self.offsets[0] = offset;
        Ok(offset)
    }

    #[inline]
    fn push(&mut self, offset: usize, count: usize) {
        if count > 0 {
            self.offsets.copy_within(0..count - 1, 1);
            self.offsets[0] = offset;
        }
    }
}

/// Copies `len` bytes from `offset` back; overlapping copies repeat the pattern.
#[inline(always)]
fn copy_match(out: &mut [u8], pos: usize, offset: usize, len: usize) {
    let src = pos - offset;
    if offset >= len {
        out.copy_within(src..src + len, pos);
    } else if offset == 1 {
        let byte = out[src];
        out[pos..pos + len].fill(byte);
    } else {
        let mut done = 0;
        while done < len {
            let n = offset.min(len - done);
            out.copy_within(src + done..src + done + n, pos + done);
            done += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn overlapping_matches_repeat_their_pattern() {
        let mut out = *b"abc\0\0\0\0\0\0\0";
        copy_match(&mut out, 3, 3, 7);
        assert_eq!(&out, b"abcabcabca");
        let mut run = *b"x\0\0\0";
        copy_match(&mut run, 1, 1, 3);
        assert_eq!(&run, b"xxxx");
    }
}
