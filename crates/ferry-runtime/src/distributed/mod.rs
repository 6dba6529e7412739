//! Distributed-mode support: the on-topic formats of the config, offsets and
//! status topics, and the in-memory snapshot built from the config topic.

pub mod config_state;
pub mod herder;
pub mod records;
pub mod stores;

#[cfg(test)]
mod tests;
