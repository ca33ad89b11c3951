//! OPC UA, for modern plants: a PLC whose scenario gives it a server (`opcua:`) serves its
//! points as variables on its own port beside Modbus, with the security modes None and
//! Sign&Encrypt (Basic256Sha256).
//!
//! - `client`: a minimal client (the benchmark's, the tests').
//! - `server`: the stack (`async-opcua`) for one PLC, on an internal port, kept current after
//!   every tick; certificates made per drill.
//! - `nodes`: the address space and the services on it, judged by the range (conduit, write
//!   budget, the simulation's checks) and recorded.
//! - `proxy`: the range's listener in front of the stack, relaying each admitted client chunk
//!   by chunk at the range's pace, and telling the node manager which host each secure
//!   channel is.
//!
//! Admission (which clients, how many, the conduit at connect) is the Modbus endpoints'
//! (`modbus::server::serve` with `Protocol::OpcUa`).

pub mod client;
pub mod nodes;
pub mod proxy;
pub mod server;
