//! The live state of the service: what `plan` reads before diffing.
//!
//! [`model`] holds the snapshot types (no I/O), [`scope`] what to read, [`read`] the reader.

pub mod definitions;
pub mod model;
pub mod read;
pub mod scope;
