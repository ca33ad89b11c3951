//! The live runtime: one OS thread per range owns its simulation and ticks it from the wall
//! clock; Modbus endpoints and the live attacker only queue inputs and read snapshots.
//!
//! - `live`: `Live`, the sim thread, snapshots, the command queue, record and write budgets.
//! - `range`: `Range`, one simulation with its endpoints and its HTTP API.
//! - `modbus`: Modbus TCP framing and the endpoint server.
//! - `iec104`: IEC 60870-5-104 framing (the endpoints are to follow).
//! - `placement`: where a range's hosts and PLCs sit on the wire, from its options.
//! - `routine`: routine traffic on the wire from the hosts' own addresses.
//! - `shards`: the single-threaded event loops a range's endpoints run on.
//! - `attacker`: the live attacker, a real Modbus client.
//! - `fds`: the open-files limit, raised at start and shared out.

pub mod attacker;
mod budget;
pub mod fds;
pub mod iec104;
pub mod live;
pub mod modbus;
pub mod opcua;
pub mod placement;
pub mod range;
pub mod routine;
pub mod shards;
