//! Why a PBIX was refused, in plain words: each message names the part and the limit or
//! defect, so a reviewer knows whether the file is corrupt, hostile or just unusual.

/// Why a PBIX could not be read. Messages do not name the file; callers prefix its path.
#[derive(Debug, thiserror::Error)]
pub enum PbixError {
    /// The file could not be opened or read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// Not a ZIP archive (every PBIX is one), or a corrupt one.
    #[error(
        "not a PBIX: it is not a valid ZIP archive ({0}); save the file again from Power BI Desktop"
    )]
    NotZip(String),
    /// More entries than [`crate::limits::MAX_ENTRIES`].
    #[error("the archive declares {count} entries, more than the {limit} a PBIX may have")]
    TooManyEntries {
        /// Entries declared.
        count: u64,
        /// The cap.
        limit: usize,
    },
    /// The ZIP's table of contents is larger than [`crate::limits::MAX_CENTRAL_DIRECTORY_BYTES`].
    #[error("the archive's table of contents is {size} bytes, more than the {limit} allowed")]
    DirectoryTooLarge {
        /// Declared size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// An entry name that would leave the archive when extracted (`../x`, `/etc/x`, `C:x`).
    #[error(
        "entry `{0}` has an unsafe name (absolute, `..`, a drive or control characters); Power BI Desktop never writes one"
    )]
    UnsafeName(String),
    /// Two entries whose names differ at most by case (readers may disagree on which one
    /// counts: OPC part names are case-insensitive).
    #[error(
        "entry `{0}` appears twice in the archive (names differing only by case count as the same)"
    )]
    DuplicateName(String),
    /// Two entries with exactly the same name.
    #[error("two entries of the archive have the same name; readers disagree on which one counts")]
    DuplicateNames,
    /// An encrypted entry (Desktop never encrypts parts).
    #[error("entry `{0}` is encrypted; a PBIX has no encrypted parts")]
    Encrypted(String),
    /// An entry larger than a cap.
    #[error("part `{part}` is {size} bytes uncompressed, more than the {limit}-byte limit")]
    EntryTooLarge {
        /// The part.
        part: String,
        /// Its (declared or actual) size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The sum of the entries' sizes exceeds [`crate::limits::MAX_TOTAL_BYTES`].
    #[error("the parts add up to {size} bytes uncompressed, more than the {limit}-byte limit")]
    TotalTooLarge {
        /// Declared total.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// A compression ratio typical of a decompression bomb.
    #[error(
        "part `{part}` expands {ratio}:1 when decompressed, more than the {limit}:1 allowed (a zip bomb?)"
    )]
    CompressionRatio {
        /// The part.
        part: String,
        /// Its ratio.
        ratio: u64,
        /// The cap.
        limit: u64,
    },
    /// A part is corrupt or not in its expected encoding or format.
    #[error("part `{part}` is malformed: {reason}")]
    Malformed {
        /// The part.
        part: String,
        /// What is wrong.
        reason: String,
    },
    /// Neither a model nor a live connection.
    #[error(
        "the file has no data model (no DataModel, DataModelSchema or DataMashup part) and no live connection in `Connections`; it cannot be published"
    )]
    NoModel,
}

pub(crate) fn malformed(part: &str, reason: impl Into<String>) -> PbixError {
    PbixError::Malformed {
        part: part.to_string(),
        reason: reason.into(),
    }
}
