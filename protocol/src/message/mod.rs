//! The message formats: the client-side [`Message`], the stored record that the CommitLog,
//! pulls and queries share ([`record`]), properties strings, message ids, batch bodies and
//! body compression.

pub mod batch;
pub mod compression;
pub mod msg_id;
pub mod properties;
pub mod record;
pub mod sysflag;
mod types;

pub use properties::Properties;
pub use types::{Message, MessageExt};
