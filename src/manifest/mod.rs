//! The manifest: YAML -> typed Manifest (to be written).
