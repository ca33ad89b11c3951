//! The three protocols reading the same points: one unit of 256 points (64 coils, 64 discrete
//! inputs, 64 input and 64 holding registers) served live, read whole over and over by 1 and by
//! 8 connections from another process (so the server's CPU is this process's alone).
//!
//! - Modbus: one scan is four requests (FC 1, 2, 4 and 3 of 64 each).
//! - IEC 104: one scan is a station interrogation (C_IC_NA_1): its confirmation, ten ASDUs of
//!   objects (60 single points or 30 short floats each) and its termination, the master
//!   acknowledging every 8 frames (w) as a real one does.
//! - OPC UA: one scan is one Read of the 256 variables' values, security mode None, through
//!   the range's listener (the relay) to the stack (`async-opcua`).
//!
//! Reports, per protocol and connection count: whole-unit scans a second, values a second, and
//! the server's CPU milliseconds per scan. `cargo bench --bench protocols`; `cargo test
//! --benches` runs a short version.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use icsdrill::runtime::iec104::apci::{self, Apdu, Parsed};
use icsdrill::runtime::iec104::asdu;
use icsdrill::runtime::modbus::server::Limits;
use icsdrill::runtime::range::{Options, Range};
use icsdrill_engine::Scenario;

mod common;
use common::cpu_s;

/// Points in each of the four tables.
const PER_TABLE: usize = 64;

/// The bay unit: one PLC, every point an object at its default address.
fn scenario() -> Arc<Scenario> {
    let mut y = String::from(
        "id: bench-rtu
meta: { industry: power, level: 2, title: Bench RTU, brief: Generated for the IEC 104 benchmark }
network:
  zones: [{ id: control, name: Control, level: control }]
  hosts: [{ id: hmi-01, name: HMI, role: hmi, zone: control }]
process:
  model: lumped
  variables: [{ id: load, name: Load, unit: MW, initial: 5, bounds: [0, 20] }]
  actuators: [{ id: brk, name: Breaker, kind: binary, stroke_s: 0.1, initial: 1 }]
  sensors:
    - { id: it, name: Load, var: load, noise: 0.05, range: [0, 20] }
    - { id: sw, name: Load high, var: load, switch_above: 15 }
plcs:
  - id: rtu
    name: Bench RTU
    zone: control
    device: { vendor: icsdrill, product: bench, revision: \"1\" }
    iec104: { common_address: 1 }
    opcua: { security: [none] }
",
    );
    let mut table = |key: &str, line: &dyn Fn(usize) -> String| {
        y.push_str(&format!("    {key}:\n"));
        for i in 0..PER_TABLE {
            y.push_str(&format!("      - {}\n", line(i)));
        }
    };
    table("coils", &|i| format!("{{ id: c{i}, addr: {i}, name: C{i} }}"));
    table("discrete_inputs", &|i| format!("{{ id: d{i}, addr: {i}, name: D{i}, switch: sw }}"));
    table("input_registers", &|i| format!("{{ id: i{i}, addr: {i}, name: I{i}, sensor: it, scale: 100 }}"));
    table("holding_registers", &|i| format!("{{ id: h{i}, addr: {i}, name: H{i}, unit: MW, initial: {i} }}"));
    Arc::new(Scenario::from_yaml("bench-rtu.yaml", &y).expect("the bench scenario validates"))
}

/// Modbus scans for `secs` on one connection: whole-station reads completed.
fn modbus_scans(to: SocketAddr, secs: f64) -> u64 {
    let mut s = TcpStream::connect(to).expect("connects");
    s.set_nodelay(true).unwrap();
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let (mut n, mut tid) = (0, 0u16);
    let mut answer = vec![0u8; 300];
    while Instant::now() < stop {
        for function in [1u8, 2, 4, 3] {
            tid = tid.wrapping_add(1);
            let mut adu = tid.to_be_bytes().to_vec();
            adu.extend_from_slice(&[0, 0, 0, 6, 1, function, 0, 0, 0, PER_TABLE as u8]);
            s.write_all(&adu).unwrap();
            let mut head = [0u8; 7];
            s.read_exact(&mut head).unwrap();
            let len = usize::from(u16::from_be_bytes([head[4], head[5]])) - 1;
            s.read_exact(&mut answer[..len]).unwrap();
            assert_eq!(answer[0], function, "an answer, not an exception");
        }
        n += 1;
    }
    n
}

/// IEC 104 interrogations for `secs` on one connection: (interrogations completed, objects).
fn iec104_scans(to: SocketAddr, secs: f64) -> (u64, u64) {
    let mut s = TcpStream::connect(to).expect("connects");
    s.set_nodelay(true).unwrap();
    let mut out = Vec::new();
    apci::write_u(&mut out, apci::UFunction::StartDtAct);
    s.write_all(&out).unwrap();
    let (mut buf, mut filled) = (vec![0u8; 4096], 0);
    let (mut vs, mut vr, mut unacked) = (0u16, 0u16, 0u16);
    let gi = asdu::interrogation(1);
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let (mut n, mut objects, mut waiting) = (0, 0, false);
    loop {
        if !waiting {
            if Instant::now() >= stop && n > 0 {
                return (n, objects);
            }
            out.clear();
            apci::write_i(&mut out, vs, vr, &gi).unwrap();
            vs = (vs + 1) % apci::SEQ_MODULO;
            unacked = 0;
            s.write_all(&out).unwrap();
            waiting = true;
        }
        let mut start = 0;
        while let Parsed::Complete { apdu, len } = apci::parse(&buf[start..filled]) {
            start += len;
            let Apdu::I { asdu: a, .. } = apdu else { continue };
            vr = (vr + 1) % apci::SEQ_MODULO;
            unacked += 1;
            match a[2] & 0x3F {
                asdu::cot::INTERROGATED => objects += u64::from(a[1] & 0x7F),
                asdu::cot::ACTIVATION_TERM => {
                    n += 1;
                    waiting = false;
                }
                _ => {}
            }
            if unacked >= apci::defaults::W {
                out.clear();
                apci::write_s(&mut out, vr);
                s.write_all(&out).unwrap();
                unacked = 0;
            }
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if waiting {
            let got = s.read(&mut buf[filled..]).unwrap();
            assert!(got > 0, "the station closed the connection");
            filled += got;
        }
    }
}

/// OPC UA reads of every point for `secs` on one session: (reads completed, values).
async fn opcua_scans(to: SocketAddr, secs: f64) -> (u64, u64) {
    let c = icsdrill::runtime::opcua::client::UaClient::connect(to).await.expect("a session");
    let points: Vec<String> =
        ["c", "d", "i", "h"].iter().flat_map(|t| (0..PER_TABLE).map(move |i| format!("{t}{i}"))).collect();
    let points: Vec<&str> = points.iter().map(String::as_str).collect();
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let (mut n, mut values) = (0, 0);
    while Instant::now() < stop || n == 0 {
        let read = c.read(&points).await.expect("a read");
        assert!(read.iter().all(|v| v.status.is_none_or(|s| s.is_good())), "every value read");
        values += read.len() as u64;
        n += 1;
    }
    c.close().await;
    (n, values)
}

/// The client (a child process): `client PROTOCOL ADDR CONNECTIONS SECONDS`; prints
/// `SCANS OBJECTS`.
fn client(args: &[String]) {
    let (protocol, to, conns, secs) =
        (args[0].clone(), args[1].parse().unwrap(), args[2].parse().unwrap(), args[3].parse().unwrap());
    if protocol == "opcua" {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (scans, values) = runtime.block_on(async {
            let tasks: Vec<_> = (0..conns).map(|_| tokio::spawn(opcua_scans(to, secs))).collect();
            let mut total = (0, 0);
            for t in tasks {
                let (a, b) = t.await.unwrap();
                total = (total.0 + a, total.1 + b);
            }
            total
        });
        println!("{scans} {values}");
        return;
    }
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let protocol = protocol.clone();
            std::thread::spawn(move || match protocol.as_str() {
                "modbus" => {
                    let n = modbus_scans(to, secs);
                    (n, n * 4 * PER_TABLE as u64)
                }
                _ => iec104_scans(to, secs),
            })
        })
        .collect();
    let (scans, objects) =
        threads.into_iter().map(|t| t.join().unwrap()).fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    println!("{scans} {objects}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("client") {
        return client(&args[1..]);
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let quick = !args.iter().any(|a| a == "--bench");
    let secs = if quick { 0.3 } else { 4.0 };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut opts = Options::new(1);
    (opts.modbus_port, opts.http_port, opts.serve_http, opts.live_attacker, opts.routine_traffic) =
        (0, 0, false, false, false);
    // Room for every connection at once: an OPC UA session takes three of the range's slots,
    // and the previous measurement's connections may still be closing when the next one starts.
    opts.limits = Limits { request_rate: 0, max_connections: 256, ..Limits::default() };
    opts.range_connections = 1024;
    let range = runtime.block_on(Range::start(scenario(), opts)).expect("the range starts");
    let e = &range.endpoints[0];
    let ip: std::net::IpAddr = e.address.parse().unwrap();
    let modbus = SocketAddr::new(ip, e.port);
    let station = SocketAddr::new(ip, e.iec104_port.expect("a station"));
    let server = SocketAddr::new(ip, e.opcua_port.expect("an OPC UA server"));
    println!("{PER_TABLE} points per table ({} in all), {secs} s per measurement", 4 * PER_TABLE);
    println!(
        "{:<8} {:>5} {:>12} {:>14} {:>14}",
        "protocol", "conns", "scans/s", "values/s", "server ms/scan"
    );
    for conns in [1usize, 8] {
        for (name, addr) in [("modbus", modbus), ("iec104", station), ("opcua", server)] {
            let cpu0 = cpu_s();
            let exe = std::env::current_exe().unwrap();
            let out = std::process::Command::new(exe)
                .args(["client", name, &addr.to_string(), &conns.to_string(), &secs.to_string()])
                .output()
                .expect("the client runs");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let cpu = cpu_s() - cpu0;
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            let (scans, objects) = (it.next().unwrap(), it.next().unwrap());
            assert!(scans > 0.0, "{name}: no scan completed");
            println!(
                "{name:<8} {conns:>5} {:>12.0} {:>14.0} {:>14.3}",
                scans / secs,
                objects / secs,
                1000.0 * cpu / scans
            );
        }
    }
    runtime.block_on(async { range.shutdown().await.unwrap() });
}
