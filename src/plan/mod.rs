//! Plans: desired vs live -> changes (to be written).
