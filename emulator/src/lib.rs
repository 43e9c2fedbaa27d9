pub mod crypto;
pub mod pbix;
