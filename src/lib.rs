//! icsdrill's live runtime, as a library for the binary and the integration tests.
//!
//! # Layout
//!
//! - `live`: the real-time runtime: the sim thread, snapshots, the command queue.
//! - `modbus`: Modbus TCP endpoints for every simulated PLC.
//! - `range`: one range: a live simulation, its endpoints and its HTTP API, started and
//!   stopped together.

pub mod live;
pub mod modbus;
pub mod range;
