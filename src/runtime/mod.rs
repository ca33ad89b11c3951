//! The live runtime: each range's simulation is a job of one bounded worker pool that ticks it
//! from the wall clock; Modbus endpoints and the live attacker only queue inputs and read
//! snapshots.
//!
//! - `live`: `Live`, the simulation's job, snapshots, the command queue, record and write
//!   budgets; `window`: its published log (recent events, traffic and alert indexes).
//! - `pool`: the simulations' worker pool (one thread per core, earliest deadline first).
//! - `range`: `Range`, one simulation with its endpoints and its HTTP API.
//! - `modbus`: Modbus TCP framing and the endpoint server.
//! - `iec104`: IEC 60870-5-104 stations (framing, link layer, the endpoint).
//! - `opcua`: OPC UA servers behind the range's own listener, and the client.
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
pub mod pool;
pub mod range;
pub mod routine;
pub mod shards;
mod window;
