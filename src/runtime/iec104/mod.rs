//! IEC 60870-5-104 (DL/T 634.5104), the power sector's telecontrol protocol: a PLC whose
//! scenario gives it a station (`iec104:`) serves it on its own port beside Modbus.
//!
//! - `apci`: the framing, pure and tested with labelled bytes.
//! - `link`: a controlled station's link layer without IO (STARTDT/STOPDT/TESTFR, the k and w
//!   windows, t1-t3).
//! - `asdu`: the application layer: commands parsed, confirmations mirrored, monitoring
//!   objects packed.
//! - `master`: a minimal controlling station (the live attacker's, the benchmark's).
//! - `session`: one connection: interrogation, clock synchronisation, commands (direct and
//!   select-before-operate) through the simulation, spontaneous changes after every tick.
//!
//! Admission (which clients, how many, the conduit at connect) is the Modbus endpoints'
//! (`modbus::server::serve` with `Protocol::Iec104`).

pub mod apci;
pub mod asdu;
pub mod link;
pub mod master;
pub mod session;
