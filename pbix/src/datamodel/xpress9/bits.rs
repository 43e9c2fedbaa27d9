//! Least-significant-bit-first reader over one XPress9 block.
//!
//! XPress9 packs its bit stream into little-endian words and consumes bits from the low end,
//! so reading the bytes in order and shifting each in above the bits already held gives the
//! same sequence. Past the end of the block the reader supplies zero bits and counts them:
//! decoding loops are bounded by the declared output size, and the block's declared bit
//! length is compared with [`BitReader::consumed`] at the end, so reading into the padding
//! can never produce a result that passes as valid.

/// Zero bytes that may be supplied past the block before decoding is abandoned: enough for
/// the look-ahead of the longest code (27 bits) plus its extra bits, with margin.
const MAX_PHANTOM_BYTES: usize = 16;

pub(super) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load (may exceed `data.len()` by the zero bytes supplied).
    pos: usize,
    buf: u64,
    /// Number of valid bits in `buf`, counted from bit 0.
    count: u32,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        let mut reader = BitReader {
            data,
            pos: 0,
            buf: 0,
            count: 0,
        };
        reader.refill();
        reader
    }

    /// Tops the buffer up to at least 56 bits.
    #[inline(always)]
    pub(super) fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.buf |= u64::from_le_bytes(word) << self.count;
            self.pos += ((63 - self.count) >> 3) as usize;
            self.count |= 56;
        } else {
            self.refill_slow();
        }
    }

    #[cold]
    fn refill_slow(&mut self) {
        while self.count <= 56 {
            let byte = self.data.get(self.pos).copied().unwrap_or(0);
            self.buf |= u64::from(byte) << self.count;
            self.pos += 1;
            self.count += 8;
        }
    }

    /// Whether decoding has run well past the end of the block's bytes (the data is corrupt).
    #[inline(always)]
    pub(super) fn overrun(&self) -> bool {
        self.pos > self.data.len() + MAX_PHANTOM_BYTES
    }

    /// The next `n` bits (n <= 32) without consuming them; needs a prior [`Self::refill`].
    #[inline(always)]
    pub(super) fn peek(&self, n: u32) -> u64 {
        self.buf & ((1u64 << n) - 1)
    }

    #[inline(always)]
    pub(super) fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.count);
        self.buf >>= n;
        self.count -= n;
    }

    /// Reads `n` bits (n <= 32), refilling as needed.
    #[inline(always)]
    pub(super) fn read(&mut self, n: u32) -> u64 {
        if self.count < n {
            self.refill();
        }
        let value = self.peek(n);
        self.consume(n);
        value
    }

    /// Bits consumed since the start of the block's payload.
    pub(super) fn consumed(&self) -> u64 {
        self.pos as u64 * 8 - u64::from(self.count)
    }
}
