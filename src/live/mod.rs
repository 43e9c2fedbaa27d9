//! The live state of the service: what `plan` reads before diffing.
//!
//! [`model`] holds the snapshot types (no I/O); the reader that fills them lives beside it.

pub mod model;
pub mod read;
