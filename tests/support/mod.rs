//! Support code for the mutation test (tests/mutation.rs): a fault-injecting HTTP proxy.

pub mod mutants;
pub mod proxy;
pub mod race;
pub mod xmltree;
