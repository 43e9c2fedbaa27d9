//! Caps on what a PBIX or a Power BI Project item may make the reader do. PBIX files arrive in pull requests, so
//! every size they declare is input: each limit below is checked before the bytes are read,
//! and reads stop at the limit whatever the file claims. The values leave a wide margin
//! over real files (the largest fixture part is a 6 MiB `Report/Layout`; real ratios of
//! compressed parts stay under 30:1).

/// Most entries (parts) a PBIX may have. Desktop writes 8–50; custom visuals and images
/// add a few each.
pub const MAX_ENTRIES: usize = 10_000;
/// Largest central directory (the ZIP's table of contents) read.
pub const MAX_CENTRAL_DIRECTORY_BYTES: u64 = 8 << 20;
/// Largest uncompressed size a single entry may declare (the `DataModel` of a Premium
/// large model; the service's upload limit is 10 GB).
pub const MAX_ENTRY_BYTES: u64 = 16 << 30;
/// Largest sum of the entries' declared uncompressed sizes.
pub const MAX_TOTAL_BYTES: u64 = 32 << 30;
/// Highest uncompressed:compressed ratio of an entry larger than [`RATIO_FLOOR_BYTES`]
/// (deflate bombs reach ~1000:1).
pub const MAX_COMPRESSION_RATIO: u64 = 250;
/// Entries smaller than this are not ratio-checked (tiny runs compress well legitimately).
pub const RATIO_FLOOR_BYTES: u64 = 1 << 20;
/// Largest `Connections` part read (a few hundred bytes in practice).
pub const MAX_CONNECTIONS_BYTES: u64 = 1 << 20;
/// Largest small text part read (`Version`, `Settings`, `Formulas/Section1.m`).
pub const MAX_SMALL_PART_BYTES: u64 = 16 << 20;
/// Largest `DataModelSchema` part read (the fixture template's schema is 0.5 MiB). It is
/// parsed as JSON, which takes several times its size in memory, hence a tighter cap.
pub const MAX_SCHEMA_BYTES: u64 = 32 << 20;
/// Largest `DataMashup` part read (its M is small; embedded content can be larger).
pub const MAX_MASHUP_BYTES: u64 = 128 << 20;

/// Most files and folders a Power BI Project item folder may hold (`.pbi/`'s content not
/// counted). A TMDL model has one file per table; a PBIR report one folder and file per page
/// and visual: thousands at most.
pub const MAX_PROJECT_FILES: usize = 20_000;
/// Deepest folder nesting inside an item folder (PBIR reaches
/// `definition/pages/<page>/visuals/<visual>/visual.json`, five levels).
pub const MAX_PROJECT_DIR_DEPTH: usize = 16;
/// Largest single part of an item (a `model.bim` or a report's image resource).
pub const MAX_PROJECT_PART_BYTES: u64 = 64 << 20;
/// Largest sum of an item's parts (the definition is uploaded in one request body).
pub const MAX_PROJECT_TOTAL_BYTES: u64 = 256 << 20;
/// Deepest TMDL indentation (object nesting) parsed; real files reach about six levels
/// (table, column, annotation, and expression bodies a few levels further).
pub const MAX_TMDL_DEPTH: usize = 64;
/// Longest TMDL line: tables typed in Desktop ("Enter data") keep their rows as one base64
/// line of M, a few hundred KiB at most.
pub const MAX_TMDL_LINE_BYTES: usize = 4 << 20;

/// Most TMDL lines read over all parts of one model: each becomes a node in memory, so a
/// part of newlines alone must not cost gigabytes. A model of 500 tables of 100 columns is
/// about 400,000 lines.
pub const MAX_TMDL_LINES: usize = 2_000_000;

/// The caps in force for one read; [`Limits::default`] gives the constants above (tests
/// lower them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_ENTRIES`].
    pub max_entries: usize,
    /// See [`MAX_CENTRAL_DIRECTORY_BYTES`].
    pub max_central_directory_bytes: u64,
    /// See [`MAX_ENTRY_BYTES`].
    pub max_entry_bytes: u64,
    /// See [`MAX_TOTAL_BYTES`].
    pub max_total_bytes: u64,
    /// See [`MAX_COMPRESSION_RATIO`].
    pub max_compression_ratio: u64,
    /// See [`MAX_CONNECTIONS_BYTES`].
    pub max_connections_bytes: u64,
    /// See [`MAX_SMALL_PART_BYTES`].
    pub max_small_part_bytes: u64,
    /// See [`MAX_SCHEMA_BYTES`].
    pub max_schema_bytes: u64,
    /// See [`MAX_MASHUP_BYTES`].
    pub max_mashup_bytes: u64,
    /// See [`MAX_PROJECT_FILES`].
    pub max_project_files: usize,
    /// See [`MAX_PROJECT_DIR_DEPTH`].
    pub max_project_dir_depth: usize,
    /// See [`MAX_PROJECT_PART_BYTES`].
    pub max_project_part_bytes: u64,
    /// See [`MAX_PROJECT_TOTAL_BYTES`].
    pub max_project_total_bytes: u64,
    /// See [`MAX_TMDL_DEPTH`].
    pub max_tmdl_depth: usize,
    /// See [`MAX_TMDL_LINE_BYTES`].
    pub max_tmdl_line_bytes: usize,
    /// See [`MAX_TMDL_LINES`].
    pub max_tmdl_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: MAX_ENTRIES,
            max_central_directory_bytes: MAX_CENTRAL_DIRECTORY_BYTES,
            max_entry_bytes: MAX_ENTRY_BYTES,
            max_total_bytes: MAX_TOTAL_BYTES,
            max_compression_ratio: MAX_COMPRESSION_RATIO,
            max_connections_bytes: MAX_CONNECTIONS_BYTES,
            max_small_part_bytes: MAX_SMALL_PART_BYTES,
            max_schema_bytes: MAX_SCHEMA_BYTES,
            max_mashup_bytes: MAX_MASHUP_BYTES,
            max_project_files: MAX_PROJECT_FILES,
            max_project_dir_depth: MAX_PROJECT_DIR_DEPTH,
            max_project_part_bytes: MAX_PROJECT_PART_BYTES,
            max_project_total_bytes: MAX_PROJECT_TOTAL_BYTES,
            max_tmdl_depth: MAX_TMDL_DEPTH,
            max_tmdl_line_bytes: MAX_TMDL_LINE_BYTES,
            max_tmdl_lines: MAX_TMDL_LINES,
        }
    }
}
