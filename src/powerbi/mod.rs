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
