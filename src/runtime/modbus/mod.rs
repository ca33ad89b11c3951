//! Modbus TCP endpoints for simulated PLCs.
//!
//! - `frame`: MBAP framing and the PDU codec, pure and tested with labelled byte vectors.
//! - `server`: the accept loop, the endpoint limits and pace, which clients a range serves.
//! - `session`: one connection: its admission and the answer to each request.
//! - `shard`: a shard's event loop, serving the connections that only read.
//! - `task`: a connection in a task of its own, once it waits (a write's tick, its pace).
//! - `fold`: a connection's fold of a client's identical requests into one record.

mod fold;
pub mod frame;
pub mod server;
mod session;
pub mod shard;
mod task;

pub use fold::FOLD_WINDOW;
