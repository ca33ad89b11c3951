//! Where a range's hosts and PLCs sit on the wire, worked out from the range's options alone:
//! the addresses a live capture on the loopback interface shows, and that a capture rebuilt
//! after the drill (from the options kept with its record) must carry too.
//!
//! Hosts send from their `--source` address, else from `.200 + host index` in the range's
//! first loopback network (the addresses of the routine traffic). PLCs listen where
//! `bind_endpoints` puts them: a port each counting up from the base port, or a loopback
//! address each on the base port. Ephemeral ports (base port 0, tests) cannot be known ahead;
//! such a range is placed as `--address-mode loopback` on port 502 would be.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use icsdrill_engine::Scenario;
use icsdrill_engine::scenario::{HostIdx, PlcIdx};

use super::range::{AddressMode, Options, loopback_address};

/// The Modbus/TCP port.
const MODBUS_PORT: u16 = 502;

/// Each host's address and each PLC's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// By host index.
    pub hosts: Vec<Ipv4Addr>,
    /// By PLC index.
    pub plcs: Vec<SocketAddrV4>,
    /// Each PLC's IEC 104 station, if it has one (same address, its own port), by PLC index.
    pub stations: Vec<Option<SocketAddrV4>>,
    /// Each PLC's OPC UA server, if it has one (same address, its own port), by PLC index.
    pub servers: Vec<Option<SocketAddrV4>>,
}

impl Placement {
    /// A single range served with `--address-mode loopback` on port 502, for everyone.
    pub fn canonical(s: &Scenario) -> Placement {
        let mut opts = Options::new(0);
        opts.address_mode = AddressMode::Loopback;
        opts.modbus_port = MODBUS_PORT;
        Placement::of(s, &opts)
    }

    /// Where a range started with `opts` puts `s`'s hosts and PLCs.
    pub fn of(s: &Scenario, opts: &Options) -> Placement {
        let base = opts.host_base();
        let hosts = (0..s.hosts.len())
            .map(|i| {
                let given = opts.sources.iter().find_map(|(ip, h)| match ip {
                    IpAddr::V4(v4) if *h == s.hosts[i].id => Some(*v4),
                    _ => None,
                });
                given
                    .or_else(|| super::routine::host_address(base, HostIdx(i as u32)))
                    .unwrap_or(Ipv4Addr::from(u32::from(base) + 254))
            })
            .collect();
        let plcs: Vec<SocketAddrV4> =
            (0..s.plcs.len()).map(|i| plc_endpoint(opts, PlcIdx(i as u32))).collect();
        let stations = s
            .plcs
            .iter()
            .zip(&plcs)
            .enumerate()
            .map(|(i, (p, at))| {
                p.iec104.as_ref().map(|_| native_endpoint(opts, *at.ip(), i, opts.iec104_port))
            })
            .collect();
        let servers = s
            .plcs
            .iter()
            .zip(&plcs)
            .enumerate()
            .map(|(i, (p, at))| p.opcua.as_ref().map(|_| native_endpoint(opts, *at.ip(), i, opts.opcua_port)))
            .collect();
        Placement { hosts, plcs, stations, servers }
    }
}

/// PLC `plc`'s endpoint in a range started with `opts`.
fn plc_endpoint(opts: &Options, plc: PlcIdx) -> SocketAddrV4 {
    let n = opts.first_endpoint + plc.ix();
    let canonical = SocketAddrV4::new(loopback_address(n), MODBUS_PORT);
    match (opts.address_mode, opts.bind, opts.modbus_port) {
        (_, _, 0) => canonical,
        (AddressMode::Loopback, _, port) => SocketAddrV4::new(loopback_address(n), port),
        (AddressMode::Port, IpAddr::V4(bind), port) => {
            u16::try_from(usize::from(port) + n).map(|p| SocketAddrV4::new(bind, p)).unwrap_or(canonical)
        }
        (AddressMode::Port, IpAddr::V6(_), _) => canonical,
    }
}

/// The IEC 104 station or OPC UA server (from port `base`) of the `i`-th PLC, listening on
/// `ip`, as `range::bind_native` puts it.
fn native_endpoint(opts: &Options, ip: Ipv4Addr, i: usize, base: u16) -> SocketAddrV4 {
    let n = opts.first_endpoint + i;
    let port = match (opts.address_mode, opts.modbus_port) {
        (AddressMode::Port, p) if p != 0 => u16::try_from(usize::from(base) + n).ok(),
        _ => Some(base),
    };
    SocketAddrV4::new(ip, port.unwrap_or(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant() -> Scenario {
        let b = icsdrill_scenarios::builtin("petrochem-tank-farm").expect("built in");
        Scenario::clone(&b.load().expect("loads"))
    }

    #[test]
    fn a_team_range_on_a_base_port_is_placed_where_it_binds() {
        let s = plant();
        let mut opts = Options::new(1);
        opts.first_endpoint = 2 * s.plcs.len();
        opts.clients.nets = vec!["127.10.3.0/24".parse().expect("a network")];
        opts.sources = vec![("127.10.3.77".parse().expect("an address"), "hmi-01".into())];
        let p = Placement::of(&s, &opts);
        let hmi = s.host("hmi-01").expect("host").ix();
        let ews = s.host("ews-01").expect("host").ix();
        assert_eq!(p.hosts[hmi], Ipv4Addr::new(127, 10, 3, 77));
        assert_eq!(p.hosts[ews], Ipv4Addr::new(127, 10, 3, 200 + ews as u8));
        assert_eq!(p.plcs[1], SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5020 + 2 * s.plcs.len() as u16 + 1));
        opts.address_mode = AddressMode::Loopback;
        assert_eq!(p.plcs.len(), s.plcs.len());
        assert_eq!(
            Placement::of(&s, &opts).plcs[0],
            SocketAddrV4::new(loopback_address(opts.first_endpoint), 5020)
        );
        opts.modbus_port = 0;
        assert_eq!(Placement::of(&s, &opts).plcs[0].port(), 502, "ephemeral ports are placed on 502");
    }
}
