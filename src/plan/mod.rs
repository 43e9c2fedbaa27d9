//! Plans: (desired, live, ledger) -> changes with a dependency graph.
//!
//! [`model`] is the serializable Plan (the contract with renderers, plan files and apply);
//! the planner itself is a pure function with no I/O so that it is unit-tested without a server.

pub mod build;
pub mod compare;
pub mod content;
pub mod definitions;
pub mod file;
pub mod graph;
pub mod model;
pub mod planner;
pub mod render;

pub use planner::{PlanError, PlanOptions, plan};
