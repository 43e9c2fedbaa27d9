//! Errors of the data-model reader. Messages say what is wrong in plain words; the caller
//! adds the file name.

/// Why a `DataModel` part could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataModelError {
    #[error("reading the DataModel failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the DataModel is truncated: it ends inside {0}")]
    Truncated(String),
    #[error("the DataModel is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the DataModel uses {0}, which this reader does not support \
         (the file's DataMashup or DataModelSchema part, if any, can still be read)"
    )]
    Unsupported(String),
    #[error("the DataModel's {what} exceeds this reader's limit of {limit}")]
    TooLarge { what: &'static str, limit: u64 },
}
