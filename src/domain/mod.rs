//! The shared vocabulary below the planner: item addresses, the value types of the service
//! (references, credentials, schedules) and the desired state the manifest becomes. `live`,
//! `ledger`, `init`, `plan` and `apply` speak it, so none of them imports another's internals
//! for a type.

pub mod address;
pub mod desired;
pub mod operation;
pub mod project;
