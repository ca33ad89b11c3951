//! Modbus TCP endpoints for simulated PLCs.
//!
//! - `frame`: MBAP framing and the PDU codec, pure and tested with labelled byte vectors.
//! - `server`: the accept loop, the endpoint limits and pace, which clients a range serves.
//! - `session`: one connection: its read loop and the answer to each request.
//! - `fold`: a connection's fold of a client's identical requests into one record.

mod fold;
pub mod frame;
pub mod server;
mod session;

pub use fold::FOLD_WINDOW;
