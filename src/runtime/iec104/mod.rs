//! IEC 60870-5-104 (DL/T 634.5104), the power sector's telecontrol protocol: the framing so
//! far (`apci`). The endpoints (STARTDT/STOPDT/TESTFR, k/w windows, t1-t3, interrogation,
//! commands) are to follow on it, as the Modbus endpoints follow on `modbus::frame`.

pub mod apci;
