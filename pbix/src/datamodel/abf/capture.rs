//! Keeping selected byte ranges of a stream that passes by only once.
//!
//! The backup's directory sits at its end, after the files it describes, and XPress9 has no
//! random access. So while the backup streams past, the reader keeps the ranges that may be
//! needed: each range starting with a known signature (SQLite database, backup log), and
//! the directory range the header announces. Each range and their sum are capped.

use memchr::memmem::Finder;

/// A range being kept: from `start`, up to `want` bytes once its length is known.
pub(super) struct Capture {
    pub(super) start: u64,
    pub(super) data: Vec<u8>,
    pub(super) want: Option<u64>,
    /// Dropped because its declared length exceeded the cap (kept to report it if needed).
    pub(super) oversized: bool,
}

impl Capture {
    pub(super) fn new(start: u64, want: Option<u64>) -> Self {
        Capture {
            start,
            data: Vec::new(),
            want,
            oversized: false,
        }
    }

    /// Whether the range is fully kept.
    pub(super) fn complete(&self) -> bool {
        self.want.is_some_and(|w| self.data.len() as u64 == w)
    }

    /// Appends the part of `buf` (which starts at stream offset `at`) that this range still
    /// needs. Before the length is known, at most `probe` bytes are kept.
    pub(super) fn feed(&mut self, at: u64, buf: &[u8], probe: u64) {
        if self.oversized {
            return;
        }
        let have = self.start + self.data.len() as u64;
        let limit = self.start + self.want.unwrap_or(probe);
        let end = at + buf.len() as u64;
        if have < at || have >= end.min(limit) {
            return;
        }
        let from = (have - at) as usize;
        let to = (end.min(limit) - at) as usize;
        self.data.extend_from_slice(&buf[from..to]);
    }
}

/// Finds a signature anywhere in the stream, including across `write` boundaries.
pub(super) struct Scanner {
    finder: Finder<'static>,
    len: usize,
    carry: Vec<u8>,
}

impl Scanner {
    pub(super) fn new(signature: &'static [u8]) -> Self {
        Scanner {
            finder: Finder::new(signature),
            len: signature.len(),
            carry: Vec::new(),
        }
    }

    /// Stream offsets where the signature starts, for `buf` written at offset `at`; also
    /// returns the carried bytes that precede `buf` so a capture can start inside them.
    pub(super) fn scan(&mut self, at: u64, buf: &[u8]) -> (Vec<u64>, Vec<u8>) {
        let mut hits = Vec::new();
        let carried = std::mem::take(&mut self.carry);
        let base = at - carried.len() as u64;
        if !carried.is_empty() {
            let mut seam = carried.clone();
            seam.extend_from_slice(&buf[..buf.len().min(self.len - 1)]);
            hits.extend(self.finder.find_iter(&seam).map(|p| base + p as u64));
        }
        hits.extend(self.finder.find_iter(buf).map(|p| at + p as u64));
        // Keep the last len-1 bytes seen (from the old carry and this buffer).
        let mut tail = carried.clone();
        tail.extend_from_slice(&buf[buf.len().saturating_sub(self.len - 1)..]);
        let keep = tail.len().min(self.len - 1);
        self.carry = tail[tail.len() - keep..].to_vec();
        (hits, carried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_split_across_writes_are_found() {
        let mut scanner = Scanner::new(b"MAGIC");
        let (first, _) = scanner.scan(0, b"xxMA");
        assert!(first.is_empty());
        let (second, carried) = scanner.scan(4, b"GICyyMAGIC");
        assert_eq!(second, vec![2, 9]);
        assert_eq!(carried, b"xxMA");
        let mut capture = Capture::new(2, Some(5));
        capture.feed(0, &carried, 100);
        capture.feed(4, b"GICyyMAGIC", 100);
        assert!(capture.complete());
        assert_eq!(capture.data, b"MAGIC");
    }
}
