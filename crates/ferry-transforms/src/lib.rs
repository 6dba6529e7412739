//! Kafka Connect single message transforms and predicates (in progress).
