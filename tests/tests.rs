//! The one integration-test binary of icsdrill (see ripgrep's layout): each module below is a
//! group of tests; `util` holds what they share.

mod attacks;
mod browser;
mod bundle;
mod cli;
mod clients;
mod cluster;
mod control;
mod deploy;
mod determinism;
mod device_attacks;
mod drill;
mod evidence;
mod exam;
mod hardening;
mod iec104;
mod io_attacks;
mod modbus;
mod monitoring;
mod opcua;
mod persist;
mod physics;
mod plant;
mod process;
mod registry;
mod report;
mod store;
mod tidy;
mod traffic;
mod util;
mod validation;
