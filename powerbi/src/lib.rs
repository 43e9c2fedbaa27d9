//! The Power BI service client. Knows HTTP, authentication and the wire format; knows nothing
//! of manifests or plans.

pub mod auth;
pub mod client;
pub mod credentials;
pub mod crypto;
pub mod error;
pub mod fabric;
pub mod hints;
pub mod limiter;
pub mod retry;
pub mod types;
pub mod upload;

// The variable names and `VarSource` (auth reads its settings through them).
use pbideploy_env as env_vars;
