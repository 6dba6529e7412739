//! Distributed-mode support: the on-topic formats of the config, offsets and
//! status topics, and the in-memory snapshot built from the config topic.

pub mod config_state;
pub mod herder;
pub mod stores;
pub mod records;

#[cfg(test)]
mod tests;
