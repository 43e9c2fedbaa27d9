//! The crate's integration tests, one binary: a module per concern, support modules
//! (shared helpers) declared once here. One binary links once, which keeps CI short.

mod abf_hostile;
mod common;
mod corrupt;
mod fixtures;
mod hostile;
mod model_fixtures;
mod xpress9_fixtures;
mod xpress9_hostile;
mod xpress9_synthetic;
