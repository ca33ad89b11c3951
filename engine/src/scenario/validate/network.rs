//! Validation of a scenario's network: zones, hosts, and the conduits between zones with
//! their firewall policies.

use std::collections::BTreeMap;

use super::super::file::*;
use super::super::*;
use super::{Cx, Names};

impl Cx<'_> {
    /// Validates the zones, registering their ids.
    pub(super) fn zones(&mut self, zones: &[ZoneFile], names: &mut Names) -> Vec<Zone> {
        const LEVELS: [(ZoneLevel, &str); 5] = [
            (ZoneLevel::Enterprise, "enterprise"),
            (ZoneLevel::Dmz, "dmz"),
            (ZoneLevel::Supervisory, "supervisory"),
            (ZoneLevel::Control, "control"),
            (ZoneLevel::Safety, "safety"),
        ];
        zones
            .iter()
            .map(|z| {
                self.define(names, "zone", &z.id);
                let level = self.enum_of(&z.level, "zone level", &LEVELS);
                let security_level =
                    z.security_level.as_ref().map(|s| self.int(s, 1, 4, "security_level") as u8);
                Zone { id: z.id.value.clone(), name: self.text(&z.name, &z.id), level, security_level }
            })
            .collect()
    }

    /// Validates the hosts, registering their ids and resolving their zones.
    pub(super) fn hosts(&mut self, hosts: &[HostFile], zones: &Names, names: &mut Names) -> Vec<Host> {
        const ROLES: [(HostRole, &str); 5] = [
            (HostRole::Hmi, "hmi"),
            (HostRole::Ews, "ews"),
            (HostRole::Historian, "historian"),
            (HostRole::ItWorkstation, "it_workstation"),
            (HostRole::Server, "server"),
        ];
        hosts
            .iter()
            .map(|h| {
                self.define(names, "host", &h.id);
                let role = self.enum_of(&h.role, "host role", &ROLES);
                let zone = ZoneIdx(self.resolve(zones, "zone", &h.zone));
                Host { id: h.id.value.clone(), name: self.text(&h.name, &h.id), role, zone }
            })
            .collect()
    }

    /// Validates the conduits between zones, each with its firewall policy.
    pub(super) fn conduits(
        &mut self,
        conduits: &[ConduitFile],
        zones: &Names,
        hosts: &Names,
        plcs: &Names,
    ) -> Vec<Conduit> {
        let mut names = Names::default();
        let mut pairs = BTreeMap::new();
        conduits
            .iter()
            .map(|c| {
                self.define(&mut names, "conduit", &c.id);
                let from = ZoneIdx(self.resolve(zones, "zone", &c.from));
                let to = ZoneIdx(self.resolve(zones, "zone", &c.to));
                if c.from.value == c.to.value {
                    self.err(&c.to.referenced, "a conduit must join two different zones");
                }
                if let Some(other) =
                    pairs.insert((c.from.value.clone(), c.to.value.clone()), c.id.value.clone())
                {
                    self.err(
                        &c.id.referenced,
                        format!("conduit `{other}` already joins `{}` to `{}`", c.from.value, c.to.value),
                    );
                }
                let allow_sources =
                    c.allow_sources.iter().map(|h| HostIdx(self.resolve(hosts, "host", h))).collect();
                let allow_functions =
                    c.allow_functions.iter().map(|f| self.int(f, 1, 127, "function code") as u8).collect();
                let write_ranges = c.write_ranges.iter().map(|w| self.write_range(w, plcs)).collect();
                let rules = c.rules.iter().map(|r| self.rule(r, hosts, plcs)).collect();
                Conduit {
                    id: c.id.value.clone(),
                    from,
                    to,
                    policy: FirewallPolicy {
                        allow_sources,
                        deny_sources: Vec::new(),
                        allow_functions,
                        write_ranges,
                        rules,
                    },
                }
            })
            .collect()
    }

    /// Validates one rule of a conduit's rule table.
    fn rule(&mut self, r: &RuleFile, hosts: &Names, plcs: &Names) -> Rule {
        let source = r.source.as_ref().map(|h| HostIdx(self.resolve(hosts, "host", h)));
        let plc = r.plc.as_ref().map(|p| PlcIdx(self.resolve(plcs, "PLC", p)));
        let functions = r.functions.iter().map(|f| self.int(f, 1, 127, "function code") as u8).collect();
        let start = r.start.as_ref().map_or(0, |v| self.int(v, 0, 65535, "start address") as u16);
        let end = r.end.as_ref().map_or(65535, |v| self.int(v, 0, 65535, "end address") as u16);
        if let Some(at) = r.end.as_ref().filter(|_| end < start) {
            self.err(&at.referenced, format!("end address {end} is below start address {start}"));
        }
        let min = r.min.as_ref().map(|v| self.int(v, 0, 65535, "min") as u16);
        let max = r.max.as_ref().map(|v| self.int(v, 0, 65535, "max") as u16);
        if let (Some(lo), Some(hi), Some(at)) = (min, max, r.max.as_ref())
            && hi < lo
        {
            self.err(&at.referenced, format!("max {hi} is below min {lo}"));
        }
        let iec104 = r
            .iec104
            .iter()
            .map(|t| self.enum_of(t, "IEC 104 type", &crate::scenario::iec104::TYPES))
            .collect();
        let opcua = r
            .opcua
            .iter()
            .map(|t| self.enum_of(t, "OPC UA service", &crate::scenario::opcua::SERVICES))
            .collect();
        Rule { source, functions, plc, start, end, min, max, iec104, opcua }
    }

    /// Validates one write window of a conduit's policy.
    fn write_range(&mut self, w: &WriteRangeFile, plcs: &Names) -> WriteRange {
        let plc = PlcIdx(self.resolve(plcs, "PLC", &w.plc));
        let start = self.int(&w.start, 0, 65535, "start address") as u16;
        let end = self.int(&w.end, 0, 65535, "end address") as u16;
        if end < start {
            self.err(&w.end.referenced, format!("end address {end} is below start address {start}"));
        }
        let min = w.min.as_ref().map(|v| self.int(v, 0, 65535, "min") as u16);
        let max = w.max.as_ref().map(|v| self.int(v, 0, 65535, "max") as u16);
        if let (Some(lo), Some(hi), Some(at)) = (min, max, w.max.as_ref())
            && hi < lo
        {
            self.err(&at.referenced, format!("max {hi} is below min {lo}"));
        }
        WriteRange { plc, start, end, min, max }
    }
}
