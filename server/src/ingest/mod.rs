//! Ingest's writer: every accepted event is stored by one group-commit task, which answers each
//! request only after COMMIT. The HTTP door that feeds it is `http::ingest`.

mod writer;

pub use writer::{EventWriter, WriteError, WriterConfig};
