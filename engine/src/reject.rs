//! `RejectReason`: why an input was not applied, and the Modbus exception it is answered with.

use serde::{Deserialize, Serialize};

/// Why an input was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No PLC with that id.
    UnknownPlc,
    /// No host with that id.
    UnknownHost,
    /// No sensor or actuator with that id.
    UnknownDevice,
    /// No active fault with that id.
    UnknownFault,
    /// A fault with that id is already active.
    DuplicateFault,
    /// Address not mapped in the PLC (Modbus exception 0x02).
    IllegalAddress,
    /// Empty write, or a parameter that is not a finite number.
    IllegalValue,
    /// Outside the register's declared range, and the PLC checks ranges (M0818).
    OutOfRange,
    /// No conduit between the source's zone and the PLC's zone.
    NoRoute,
    /// The conduit does not allow this source host.
    SourceNotAllowed,
    /// The conduit does not allow this function code.
    FunctionNotAllowed,
    /// The conduit does not allow writes to this address.
    AddressNotAllowed,
    /// The conduit does not allow this value.
    ValueNotAllowed,
    /// Function code the PLC does not implement (Modbus exception 0x01).
    IllegalFunction,
    /// A malformed request: bad quantity, byte count or coil value (Modbus exception 0x03).
    Malformed,
    /// Unit id not served by this endpoint.
    WrongUnit,
    /// The PLC is in listen-only mode and does not answer.
    ListenOnly,
    /// The source or target host is isolated from the network.
    HostIsolated,
    /// No program backup to restore from.
    NoBackup,
    /// The PLC is restarting and answers nothing.
    Restarting,
    /// No conduit, block or alarm with that id, or a bad parameter for a defender action.
    UnknownTarget,
    /// The spoofing host is not on the path between the operators and the PLC.
    NotOnPath,
    /// The endpoint already serves its maximum number of connections.
    ConnectionLimit,
    /// The PLC's firmware is corrupt: it does not boot until a spare module is fitted.
    ModuleFailed,
    /// The host's disks were wiped: it runs nothing until it is re-imaged.
    HostWiped,
    /// The PLC's communications are saturated by a flood: it answers nothing.
    Flooded,
    /// An attack step fired by hand that has fired already (or will not: its run is over).
    StepNotPending,
    /// An attack step fired by hand before the step it follows has finished: the attacker is
    /// not where it runs from yet (fired, it would fail and never run as scripted).
    StepNotReady,
}

impl RejectReason {
    /// Every reason, in declaration order (what a console's words for them are built from).
    pub const ALL: [RejectReason; 28] = [
        RejectReason::UnknownPlc,
        RejectReason::UnknownHost,
        RejectReason::UnknownDevice,
        RejectReason::UnknownFault,
        RejectReason::DuplicateFault,
        RejectReason::IllegalAddress,
        RejectReason::IllegalValue,
        RejectReason::OutOfRange,
        RejectReason::NoRoute,
        RejectReason::SourceNotAllowed,
        RejectReason::FunctionNotAllowed,
        RejectReason::AddressNotAllowed,
        RejectReason::ValueNotAllowed,
        RejectReason::IllegalFunction,
        RejectReason::Malformed,
        RejectReason::WrongUnit,
        RejectReason::ListenOnly,
        RejectReason::HostIsolated,
        RejectReason::NoBackup,
        RejectReason::Restarting,
        RejectReason::UnknownTarget,
        RejectReason::NotOnPath,
        RejectReason::ConnectionLimit,
        RejectReason::ModuleFailed,
        RejectReason::HostWiped,
        RejectReason::Flooded,
        RejectReason::StepNotPending,
        RejectReason::StepNotReady,
    ];

    /// Why it was refused, in words (reports, the consoles' errors), English and Chinese.
    pub fn words(self) -> crate::scenario::Text {
        use RejectReason as R;
        let (en, zh) = match self {
            R::UnknownPlc | R::UnknownHost | R::UnknownDevice | R::UnknownFault | R::UnknownTarget => {
                ("no such target", "目标不存在")
            }
            R::DuplicateFault => ("already in effect", "已在生效"),
            R::IllegalAddress => ("address not mapped", "地址不存在"),
            R::IllegalValue | R::Malformed => ("malformed request", "请求格式错误"),
            R::OutOfRange => ("outside the set-point range", "超出设定值范围"),
            R::NoRoute => ("no network path", "无网络路径"),
            R::SourceNotAllowed => ("source blocked by the firewall", "来源被防火墙阻断"),
            R::FunctionNotAllowed => ("function blocked by the firewall", "功能码被防火墙阻断"),
            R::AddressNotAllowed => ("address blocked by the firewall", "写入地址被防火墙阻断"),
            R::ValueNotAllowed => ("value blocked by the firewall", "写入数值被防火墙阻断"),
            R::IllegalFunction => ("function not supported", "功能码不支持"),
            R::WrongUnit => ("wrong unit id", "单元号错误"),
            R::ListenOnly => ("PLC in listen-only mode", "PLC 处于只听模式"),
            R::HostIsolated => ("host isolated", "主机已隔离"),
            R::NoBackup => ("no program backup", "无程序备份"),
            R::Restarting => ("PLC restarting", "PLC 正在重启"),
            R::Flooded => ("PLC communications flooded", "PLC 通信被泛洪阻塞"),
            R::StepNotPending => ("not pending: it has fired already", "该步骤已触发，不在待触发状态"),
            R::StepNotReady => ("the step it follows has not finished yet", "其前置攻击步骤尚未完成"),
            R::NotOnPath => ("not on the network path", "不在通信路径上"),
            R::ConnectionLimit => ("connection limit reached", "连接数已满"),
            R::ModuleFailed => ("module failed", "模块故障"),
            R::HostWiped => ("host wiped", "主机已被擦除"),
        };
        crate::scenario::Text::new(en, zh)
    }

    /// Whether the network stopped it on the way (no route, the conduit's firewall, an
    /// isolated host), before the PLC judged it.
    pub fn by_network(self) -> bool {
        matches!(
            self,
            RejectReason::NoRoute
                | RejectReason::SourceNotAllowed
                | RejectReason::FunctionNotAllowed
                | RejectReason::AddressNotAllowed
                | RejectReason::ValueNotAllowed
                | RejectReason::HostIsolated
        )
    }

    /// The Modbus exception a refused request is answered with; `None` when there is no
    /// answer (listen-only mode, or a connection-level refusal).
    pub fn exception_code(self) -> Option<u8> {
        match self {
            RejectReason::IllegalFunction | RejectReason::FunctionNotAllowed => Some(0x01),
            RejectReason::IllegalAddress | RejectReason::AddressNotAllowed => Some(0x02),
            RejectReason::IllegalValue
            | RejectReason::OutOfRange
            | RejectReason::ValueNotAllowed
            | RejectReason::Malformed => Some(0x03),
            RejectReason::WrongUnit => Some(0x0B),
            RejectReason::UnknownPlc | RejectReason::UnknownHost => Some(0x04),
            RejectReason::NoRoute
            | RejectReason::SourceNotAllowed
            | RejectReason::ListenOnly
            | RejectReason::HostIsolated
            | RejectReason::Restarting
            | RejectReason::Flooded => None,
            RejectReason::NoBackup => Some(0x04),
            RejectReason::UnknownDevice
            | RejectReason::UnknownFault
            | RejectReason::DuplicateFault
            | RejectReason::UnknownTarget
            | RejectReason::NotOnPath
            | RejectReason::ConnectionLimit
            | RejectReason::ModuleFailed
            | RejectReason::HostWiped
            | RejectReason::StepNotPending
            | RejectReason::StepNotReady => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RejectReason;

    /// `ALL` lists every reason once, in declaration order: a reason added to the enum and not to
    /// `ALL` shifts the discriminants after it, or (added last) is past its end.
    #[test]
    fn all_lists_every_reason_in_order() {
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?} out of place");
        }
        let last = *RejectReason::ALL.last().unwrap();
        assert_eq!(
            serde_json::to_string(&last).unwrap(),
            "\"step_not_ready\"",
            "the enum's last reason closes ALL"
        );
    }
}
