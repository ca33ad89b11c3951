//! IEC 60870-5-104 (DL/T 634.5104), the power sector's telecontrol protocol, so far without IO:
//! the framing (`apci`) and a controlled station's link layer (`link`: STARTDT/STOPDT/TESTFR,
//! the k and w windows, t1-t3). The endpoints (interrogation, commands, spontaneous data from
//! the simulation) are to follow on them, as the Modbus endpoints follow on `modbus::frame`.

pub mod apci;
pub mod link;
