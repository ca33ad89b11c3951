//! Modbus TCP endpoints for simulated PLCs.
//!
//! - `frame`: MBAP framing and the PDU codec, pure and tested with labelled byte vectors.
//! - `server`: the accept loop, connections, and answering each request from the simulation.

pub mod frame;
pub mod server;
