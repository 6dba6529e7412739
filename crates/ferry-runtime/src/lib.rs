//! The Ferry worker: herders, connector and task lifecycles, the source and
//! sink task loops, and the offset and status stores.

pub mod entities;
pub mod herder;

pub use ferry_api::Props;
pub use herder::{Created, Herder, HerderError, HerderResult, PluginType};
