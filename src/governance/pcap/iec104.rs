//! The IEC 104 part of a capture: every `iec104_transaction` of the window as the frames a
//! station and its master exchanged, on one TCP connection per host and station opened with a
//! handshake and STARTDT, sequence numbers counted on both sides. Interrogations carry the
//! objects the station reported at that tick; commands their confirmation (negative with the
//! standard's cause when refused) and termination. Spontaneous transmissions are not in the
//! log and not in the capture.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;

use icsdrill_engine::scenario::iec104::is_command;
use icsdrill_engine::scenario::iec104::types::*;
use icsdrill_engine::scenario::{HostIdx, PlcIdx};
use icsdrill_engine::{EventKind, RejectReason, Scenario, Sim, Snapshot};

use super::{Logged, tcp};
use crate::runtime::iec104::apci::{self, UFunction};
use crate::runtime::iec104::asdu::{self, cot};
use crate::runtime::placement::Placement;
use icsdrill_engine::Iec104Transaction;

/// A connection between a host and a station: TCP and IEC 104 sequence numbers.
pub(super) struct Flow {
    port: u16,
    client_seq: u32,
    server_seq: u32,
    /// Next send sequence numbers of the master and of the station.
    master_vs: u16,
    station_vs: u16,
}

/// The IEC 104 requests the log recorded since event `seen`, of the types a capture rebuilds.
pub(super) fn logged<'a>(s: &Scenario, sim: &'a Sim, seen: u64) -> Vec<Logged<'a, Iec104Transaction>> {
    super::logged_of(
        s,
        sim,
        seen,
        |p| p.iec104.is_some(),
        |kind| match kind {
            EventKind::Iec104Transaction(t)
                if matches!(t.type_id, CONNECTION | C_IC_NA_1 | C_CS_NA_1) || is_command(t.type_id) =>
            {
                Some((t, t.plc.as_str(), t.source.as_str()))
            }
            _ => None,
        },
    )
}

/// The frames of one exchange at `unix_ms`: a handshake and STARTDT if its connection is new,
/// the request, the station's answers.
pub(super) fn frames(
    (s, placement): (&Scenario, &Placement),
    snap: &Snapshot,
    flows: &mut BTreeMap<(HostIdx, PlcIdx), Flow>,
    x: &Logged<'_, Iec104Transaction>,
    unix_ms: i64,
) -> Vec<Vec<u8>> {
    let Some(Some(station)) = placement.stations.get(x.plc.ix()) else { return Vec::new() };
    if x.type_id == CONNECTION && x.reason.is_some() {
        return x.refused(placement, *station);
    }
    let (client, port) = x.client(placement, (45_000, 15_000));
    let mut out = Vec::new();
    let flow = flows.entry((x.host, x.plc)).or_insert_with(|| open(client, *station, port, &mut out));
    let Some(def) = s.plcs[x.plc.ix()].iec104.as_ref() else { return out };
    let ca = def.common_address;
    let (request, answers) = match x.type_id {
        CONNECTION => return out,
        C_IC_NA_1 => {
            let request = asdu::interrogation(ca);
            let answers = if x.reason.is_some() {
                vec![asdu::mirror(&request, cot::ACTIVATION_CON, true)]
            } else {
                let plc = &s.plcs[x.plc.ix()];
                let values = asdu::values(plc, def, &snap.plcs[x.plc.ix()].memory);
                let objects: Vec<(u32, asdu::Value)> = def.points.iter().map(|p| p.ioa).zip(values).collect();
                let mut a = vec![asdu::mirror(&request, cot::ACTIVATION_CON, false)];
                a.extend(asdu::monitoring(ca, cot::INTERROGATED, &objects, None));
                a.push(asdu::mirror(&request, cot::ACTIVATION_TERM, false));
                a
            };
            (request, answers)
        }
        C_CS_NA_1 => {
            let request = asdu::clock_sync(ca, unix_ms);
            let answer = asdu::mirror(&request, cot::ACTIVATION_CON, x.reason.is_some());
            (request, vec![answer])
        }
        t => {
            let request = asdu::command(t, ca, x.ioa, x.value.unwrap_or(0.0), x.select);
            let answers = match x.reason {
                Some(RejectReason::IllegalAddress) => vec![asdu::mirror(&request, cot::UNKNOWN_IOA, true)],
                Some(_) => vec![asdu::mirror(&request, cot::ACTIVATION_CON, true)],
                None if x.select => vec![asdu::mirror(&request, cot::ACTIVATION_CON, false)],
                None => vec![
                    asdu::mirror(&request, cot::ACTIVATION_CON, false),
                    asdu::mirror(&request, cot::ACTIVATION_TERM, false),
                ],
            };
            (request, answers)
        }
    };
    let (client_ip, server_ip) = (client, *station.ip());
    let mut apdu = Vec::new();
    apci::write_i(&mut apdu, flow.master_vs, flow.station_vs, &request).expect("a request fits an APDU");
    flow.master_vs = (flow.master_vs + 1) % apci::SEQ_MODULO;
    out.push(tcp(
        client_ip,
        server_ip,
        flow.port,
        station.port(),
        flow.client_seq,
        Some(flow.server_seq),
        false,
        &apdu,
    ));
    flow.client_seq = flow.client_seq.wrapping_add(apdu.len() as u32);
    for a in answers {
        apdu.clear();
        apci::write_i(&mut apdu, flow.station_vs, flow.master_vs, &a).expect("an answer fits an APDU");
        flow.station_vs = (flow.station_vs + 1) % apci::SEQ_MODULO;
        out.push(tcp(
            server_ip,
            client_ip,
            station.port(),
            flow.port,
            flow.server_seq,
            Some(flow.client_seq),
            false,
            &apdu,
        ));
        flow.server_seq = flow.server_seq.wrapping_add(apdu.len() as u32);
    }
    out
}

/// A new connection: the TCP handshake, then STARTDT act and con.
fn open(client: std::net::Ipv4Addr, station: SocketAddrV4, port: u16, out: &mut Vec<Vec<u8>>) -> Flow {
    let (server, sport) = (*station.ip(), station.port());
    let isn = u32::from(port).wrapping_mul(2_654_435_761) ^ u32::from(client);
    let (c, sv) = super::handshake(client, station, port, (isn, isn.rotate_left(11)), out);
    let (mut act, mut con) = (Vec::new(), Vec::new());
    apci::write_u(&mut act, UFunction::StartDtAct);
    apci::write_u(&mut con, UFunction::StartDtCon);
    out.push(tcp(client, server, port, sport, c, Some(sv), false, &act));
    out.push(tcp(server, client, sport, port, sv, Some(c + act.len() as u32), false, &con));
    Flow {
        port,
        client_seq: c.wrapping_add(act.len() as u32),
        server_seq: sv.wrapping_add(con.len() as u32),
        master_vs: 0,
        station_vs: 0,
    }
}
