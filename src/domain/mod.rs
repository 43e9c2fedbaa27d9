//! The shared vocabulary below the manifest and the planner: item addresses, the value types
//! of the service (references, credentials by [`secret_ref::SecretRef`], schedules), what a
//! data-source rule selects ([`source_match`]) and the desired state the manifest becomes.
//! `manifest`, `live`, `ledger`, `init`, `plan` and `apply` speak it, so none of them imports
//! another's internals for a type.

pub mod address;
pub mod desired;
pub mod operation;
pub mod project;
pub mod secret_ref;
pub mod source_match;
