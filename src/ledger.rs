//! The ledger (state file) (to be written).
