//! Pure-Rust decoder for the XPress9 compression of a PBIX's `DataModel` part.
//!
//! Written from the format as Microsoft's MIT-licensed reference decoder defines it
//! (repository `microsoft/Extensible-Storage-Engine`, folder `dev/ese/src/_xpress9/`,
//! "Copyright (c) Microsoft Corporation"; see THIRD-PARTY-NOTICES.md). No code was copied;
//! the bit layout, the Huffman table encoding and the LZ77 token rules follow it closely.
//!
//! The part starts with a 102-byte UTF-16LE signature that names the layout:
//! - "…using XPress9 compression.": frames of `u32 decoded size | u32 encoded size | block`,
//!   all blocks forming one decoder session (the history and block index carry over);
//! - "…using multithreaded XPrs9.": five u64 (main frames per thread, prefix frames per
//!   thread, prefix thread count, main thread count, chunk size), then the prefix threads'
//!   frames and the main threads' frames, each thread's frames one session;
//! - Very old files store the ABF itself (it begins with a UTF-16 `STREAM_STORAGE_SIGNATURE`),
//!   which is passed through unchanged.
//!
//! XPress9 carries no checksum over the data, so every length and count is checked against
//! [`Limits`] and against the block headers, and the ABF layer validates what it reads.

mod bits;
mod block;
mod huffman;

use std::io::{ErrorKind, Read, Write};

use super::{DataModelError, Limits};
pub use block::crc32c;
use block::{HEADER_LEN, Session};

const SIGNATURE_LEN: usize = 102;
const SINGLE_THREADED: &str = "This backup was created using XPress9 compression.";
const MULTI_THREADED: &str = "This backup was created using multithreaded XPrs9.";
const STREAM_STORAGE: &str = "STREAM_STORAGE_SIGNATURE_)!@#$%^&*(";

/// The layout named by the signature.
enum Layout {
    SingleThreaded,
    MultiThreaded,
    Uncompressed,
}

fn layout(signature: &[u8]) -> Result<Layout, DataModelError> {
    let units: Vec<u16> = signature
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16_lossy(&units);
    let text = text.trim_start_matches('\u{feff}');
    if text.starts_with(STREAM_STORAGE) {
        Ok(Layout::Uncompressed)
    } else if text.starts_with(SINGLE_THREADED) {
        Ok(Layout::SingleThreaded)
    } else if text.starts_with(MULTI_THREADED) {
        Ok(Layout::MultiThreaded)
    } else {
        Err(DataModelError::Unsupported(
            "an unknown DataModel signature (neither XPress9 nor an uncompressed backup)".into(),
        ))
    }
}

/// Decodes a `DataModel` part from `input` into `output` (the Analysis Services backup, ABF),
/// streaming: only the current block and the LZ77 window are held. Returns the decoded size.
///
/// The caller's `Write` sees the ABF in order; errors name what is corrupt, truncated,
/// unsupported or over a limit. Used by [`super::read_data_model`], the benchmark and the
/// fuzz target.
pub fn decode_xpress9_stream<R: Read, W: Write>(
    mut input: R,
    mut output: W,
    limits: &Limits,
) -> Result<u64, DataModelError> {
    let mut signature = [0u8; SIGNATURE_LEN];
    read_exact(&mut input, &mut signature, "the DataModel signature")?;
    let mut out = Output {
        sink: &mut output,
        written: 0,
        limit: limits.max_abf_size,
    };
    match layout(&signature)? {
        Layout::Uncompressed => copy_uncompressed(&signature, &mut input, &mut out)?,
        Layout::SingleThreaded => {
            let mut frames = FrameReader::new(limits);
            let mut session = Session::new();
            if !frames.next(&mut input, &mut session, &mut out, true)? {
                return Err(DataModelError::Truncated(
                    "the first XPress9 frame (there is none)".into(),
                ));
            }
            while frames.next(&mut input, &mut session, &mut out, true)? {}
        }
        Layout::MultiThreaded => decode_multithreaded(&mut input, &mut out, limits)?,
    }
    Ok(out.written)
}

/// Where decoded bytes go, with the running total checked against the output cap.
struct Output<'a, W: Write> {
    sink: &'a mut W,
    written: u64,
    limit: u64,
}

impl<W: Write> Output<'_, W> {
    fn reserve(&self, len: u64) -> Result<(), DataModelError> {
        match self.written.checked_add(len) {
            Some(total) if total <= self.limit => Ok(()),
            _ => Err(DataModelError::TooLarge {
                what: "decoded data model (ABF)",
                limit: self.limit,
            }),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), DataModelError> {
        self.reserve(bytes.len() as u64)?;
        self.sink.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

fn copy_uncompressed<R: Read, W: Write>(
    signature: &[u8],
    input: &mut R,
    out: &mut Output<'_, W>,
) -> Result<(), DataModelError> {
    out.write(signature)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        out.write(&buf[..n])?;
    }
}

fn decode_multithreaded<R: Read, W: Write>(
    input: &mut R,
    out: &mut Output<'_, W>,
    limits: &Limits,
) -> Result<(), DataModelError> {
    let mut header = [0u8; 40];
    read_exact(input, &mut header, "the multithreaded XPress9 header")?;
    let field = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&header[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let (main_per_thread, prefix_per_thread) = (field(0), field(1));
    let (prefix_threads, main_threads) = (field(2), field(3));
    let total = prefix_per_thread.checked_mul(prefix_threads).and_then(|p| {
        main_per_thread
            .checked_mul(main_threads)
            .and_then(|m| m.checked_add(p))
    });
    match total {
        Some(0) => {
            return Err(DataModelError::Truncated(
                "the multithreaded XPress9 frames (the header lists none)".into(),
            ));
        }
        Some(n) if n <= limits.max_frames => {}
        _ => {
            return Err(DataModelError::TooLarge {
                what: "number of XPress9 frames",
                limit: limits.max_frames,
            });
        }
    }
    let mut frames = FrameReader::new(limits);
    let groups = [
        (prefix_threads, prefix_per_thread),
        (main_threads, main_per_thread),
    ];
    for (threads, per_thread) in groups {
        if per_thread == 0 {
            continue; // a thread count alone, however large, means no frames
        }
        for _ in 0..threads {
            let mut session = Session::new();
            for _ in 0..per_thread {
                if !frames.next(input, &mut session, out, false)? {
                    return Err(DataModelError::Truncated(
                        "the multithreaded XPress9 frames (fewer than the header lists)".into(),
                    ));
                }
            }
        }
    }
    let mut probe = [0u8; 1];
    if read_some(input, &mut probe)? != 0 {
        return Err(DataModelError::Corrupt(
            "data follows the last frame the multithreaded XPress9 header lists".into(),
        ));
    }
    Ok(())
}

/// Reads frames, reusing one buffer, and counts them against [`Limits::max_frames`].
struct FrameReader {
    block: Vec<u8>,
    count: u64,
    max_frames: u64,
    max_frame: u32,
}

impl FrameReader {
    fn new(limits: &Limits) -> Self {
        FrameReader {
            block: Vec::new(),
            count: 0,
            max_frames: limits.max_frames,
            max_frame: limits.max_frame_size,
        }
    }

    /// Decodes the next frame into `out`. Returns false at a clean end of input when
    /// `end_allowed`, i.e. between frames of the single-threaded layout.
    fn next<R: Read, W: Write>(
        &mut self,
        input: &mut R,
        session: &mut Session,
        out: &mut Output<'_, W>,
        end_allowed: bool,
    ) -> Result<bool, DataModelError> {
        let mut sizes = [0u8; 8];
        let got = read_some(input, &mut sizes)?;
        if got == 0 && end_allowed {
            return Ok(false);
        }
        read_exact(input, &mut sizes[got..], "an XPress9 frame header")?;
        let decoded = u32::from_le_bytes([sizes[0], sizes[1], sizes[2], sizes[3]]);
        let encoded = u32::from_le_bytes([sizes[4], sizes[5], sizes[6], sizes[7]]);
        self.count += 1;
        if self.count > self.max_frames {
            return Err(DataModelError::TooLarge {
                what: "number of XPress9 frames",
                limit: self.max_frames,
            });
        }
        if decoded > self.max_frame {
            return Err(DataModelError::TooLarge {
                what: "decoded size of one XPress9 frame",
                limit: u64::from(self.max_frame),
            });
        }
        // A block never needs much more room than its output (plus tables and header).
        let max_encoded = u64::from(decoded) * 2 + 64 * 1024;
        if (encoded as usize) < HEADER_LEN || u64::from(encoded) > max_encoded {
            return Err(DataModelError::Corrupt(format!(
                "an XPress9 frame declares {encoded} compressed bytes for {decoded} decoded bytes"
            )));
        }
        out.reserve(u64::from(decoded))?;
        self.block.resize(encoded as usize, 0);
        read_exact(input, &mut self.block, "an XPress9 frame")?;
        let bytes = session.decode_block(&self.block, decoded)?;
        out.write(bytes)?;
        Ok(true)
    }
}

/// Fills `buf` completely; an early end of input is reported as truncation of `what`.
fn read_exact<R: Read>(input: &mut R, buf: &mut [u8], what: &str) -> Result<(), DataModelError> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == ErrorKind::UnexpectedEof {
            DataModelError::Truncated(what.into())
        } else {
            DataModelError::Io(e)
        }
    })
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_some<R: Read>(input: &mut R, buf: &mut [u8]) -> Result<usize, DataModelError> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(got)
}
