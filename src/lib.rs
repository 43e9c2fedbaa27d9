//! pbideploy: a declarative deployment reconciler for Power BI.
//!
//! Data flows one way: manifest -> desired model; service -> live model;
//! (desired, live, ledger) -> plan; plan -> apply -> service + ledger.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod diagnostics;
pub mod domain;
pub mod error;
pub mod init;
pub mod inspect;
pub mod ledger;
pub mod live;
pub mod logging;
pub mod manifest;
pub mod model_facts;
pub mod pbix;
pub mod plan;
pub mod sanitize;
pub mod session;
pub mod untrusted_file;

// Workspace crates under their old module names, so `crate::env_vars::…` and
// `crate::powerbi::…` (and `pbideploy::powerbi::…`) paths keep working.
pub use pbideploy_env as env_vars;
pub use pbideploy_powerbi as powerbi;

#[cfg(test)]
mod module_graph;
