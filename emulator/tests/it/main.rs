//! The crate's integration tests, one binary: a module per concern, support modules
//! (shared helpers) declared once here. One binary links once, which keeps CI short.

mod auth;
mod common;
mod conformance;
mod conformance_flow;
mod crypto_vectors;
mod datasets;
mod full_flow;
mod groups;
mod imports;
mod pbix_fixtures;
mod schedules_parameters;
mod transport;
