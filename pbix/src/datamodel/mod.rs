//! The `DataModel` part of a PBIX: XPress9 decoding, the Analysis Services backup (ABF) it
//! holds, and the model metadata in its `metadata.sqlitedb`.

mod error;
pub mod xpress9;

pub use error::DataModelError;
pub use xpress9::decode_xpress9_stream;

/// Caps on what a hostile `DataModel` may make the reader do. Every declared size is input,
/// so each is checked before memory is reserved or work is done.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest decoded backup (ABF) accepted, in bytes. Bounds the decoding time (about
    /// 1 s per 100 MB); the default, 2 GiB, covers any model Power BI Desktop saves to a
    /// file a pull request would carry.
    pub max_abf_size: u64,
    /// Largest decoded size of one XPress9 frame, in bytes. Power BI writes 2 MiB frames;
    /// the default allows 16 MiB.
    pub max_frame_size: u32,
    /// Most XPress9 frames accepted (the default, 65,536, is 128 GiB of 2 MiB frames, so
    /// `max_abf_size` binds first for real files).
    pub max_frames: u64,
    /// Largest `metadata.sqlitedb` kept in memory, in bytes (real ones are well under
    /// 10 MB); default 64 MiB.
    pub max_metadata_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_abf_size: 2 << 30,
            max_frame_size: 16 << 20,
            max_frames: 65_536,
            max_metadata_size: 64 << 20,
        }
    }
}
