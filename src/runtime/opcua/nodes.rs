//! The address space of a PLC's OPC UA server: a folder for the PLC under Objects, a variable
//! per point (`ns=<ours>;s=<point id>`), and the services that touch them, judged by the range.
//!
//! - Reads and monitored items are judged as the Modbus reads they stand for (the conduit
//!   firewall from the client's host), and recorded.
//! - A write is judged as the Modbus write behind its node (`PlcDef::opcua_write`) and applied
//!   by the simulation; its status comes when its tick has run.
//! - Values are not read from the simulation on demand: `update` writes what changed after
//!   every tick, which also notifies subscriptions.
//!
//! Only secure channels opened through the range's own listener (`proxy`) are served: the
//! listener learns each channel's id and the host its client stands for. A client that found
//! the server's internal port is refused every value.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use icsdrill_engine::network::{Native, Request, check_request};
use icsdrill_engine::scenario::opcua::{Node, services};
use icsdrill_engine::scenario::{HostIdx, PlcIdx, Table};
use icsdrill_engine::{RejectReason, SimInput};
use opcua::nodes::VariableBuilder;
use opcua::server::CreateMonitoredItem;
use opcua::server::address_space::{AccessLevel, AddressSpace};
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{
    InMemoryNodeManager, InMemoryNodeManagerImpl, InMemoryNodeManagerImplBuilder,
};
use opcua::server::node_manager::{ParsedReadValueId, RequestContext, ServerContext, WriteNode};
use opcua::sync::RwLock;
use opcua::types::{
    AttributeId, DataTypeId, DataValue, DateTime, EUInformation, ExtensionObject, LocalizedText, NodeId,
    ObjectId, QualifiedName, Range, StatusCode, TimestampsToReturn, VariableTypeId, Variant,
};

use crate::runtime::modbus::server::Context;
use icsdrill_engine::OpcUaTransaction;

/// The namespace of the PLC's points.
pub const NAMESPACE: &str = "urn:icsdrill:plc";

/// Who a secure channel's client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The host it stands for.
    pub host: HostIdx,
    /// One of the range's routine clients: the simulation logged and applied its requests
    /// already, so they are answered, not recorded or applied again.
    pub routine: bool,
}

/// Secure channels opened through the range's listener: each one's id and who its client
/// is. At most one entry per open connection (the listener removes its own).
#[derive(Debug, Default)]
pub struct Channels {
    peers: Mutex<HashMap<u32, Peer>>,
    /// Channels opened so far, and a wake for whoever keeps the server's PKI pruned (each
    /// session may leave a client certificate behind, clock running or not).
    opened: std::sync::atomic::AtomicU64,
    wake: tokio::sync::Notify,
}

impl Channels {
    /// Notes that channel `id` is `peer`'s.
    pub fn open(&self, id: u32, peer: Peer) {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).insert(id, peer);
        self.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Forgets channel `id`.
    pub fn close(&self, id: u32) {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    /// The client of channel `id`, if it came through the listener.
    fn peer(&self, id: u32) -> Option<Peer> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).get(&id).copied()
    }

    /// Channels opened so far.
    pub fn opened(&self) -> u64 {
        self.opened.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Resolves once a channel has opened since the last call (or at once if one did).
    pub async fn next_open(&self) {
        self.wake.notified().await;
    }
}

/// The node manager of one PLC.
pub struct PlcNodes {
    namespace: NamespaceMetadata,
    cx: Arc<Context>,
    plc: PlcIdx,
    channels: Arc<Channels>,
    /// Point id to node.
    nodes: BTreeMap<String, Node>,
    /// The node id of each of `nodes`, in their order (made once, not every tick).
    ids: Vec<NodeId>,
}

/// Builds `PlcNodes` once the server knows the namespace's index.
pub struct PlcNodesBuilder {
    /// The range.
    pub cx: Arc<Context>,
    /// The PLC served.
    pub plc: PlcIdx,
    /// Its listener's channels.
    pub channels: Arc<Channels>,
}

impl InMemoryNodeManagerImplBuilder for PlcNodesBuilder {
    type Impl = PlcNodes;

    fn build(self, context: ServerContext, address_space: &mut AddressSpace) -> PlcNodes {
        let mut namespace = NamespaceMetadata { namespace_uri: NAMESPACE.into(), ..Default::default() };
        namespace.namespace_index = context.type_tree.write().namespaces_mut().add_namespace(NAMESPACE);
        address_space.add_namespace(NAMESPACE, namespace.namespace_index);
        let nodes: BTreeMap<String, Node> =
            self.cx.live.scenario.plcs[self.plc.ix()].nodes().into_iter().collect();
        let ids = nodes.keys().map(|p| NodeId::new(namespace.namespace_index, p.as_str())).collect();
        PlcNodes { namespace, cx: self.cx, plc: self.plc, channels: self.channels, nodes, ids }
    }
}

/// What a range's verdict on a request makes of it.
pub(crate) fn status_of(reason: RejectReason) -> StatusCode {
    match reason {
        RejectReason::IllegalAddress => StatusCode::BadNodeIdUnknown,
        RejectReason::IllegalValue => StatusCode::BadOutOfRange,
        RejectReason::IllegalFunction | RejectReason::ListenOnly => StatusCode::BadNotWritable,
        RejectReason::Restarting | RejectReason::Flooded => StatusCode::BadResourceUnavailable,
        _ => StatusCode::BadUserAccessDenied,
    }
}

/// A point's value as its variable holds it: a bit as a Boolean, a register as a Double in
/// engineering units.
pub(crate) fn variant(
    plc: &icsdrill_engine::scenario::PlcDef,
    memory: &icsdrill_engine::world::Memory,
    n: Node,
) -> Variant {
    let i = n.point.ix();
    match n.table {
        Table::Coils => Variant::Boolean(memory.coils[usize::from(plc.coils[i].addr)]),
        Table::DiscreteInputs => Variant::Boolean(memory.discrete[usize::from(plc.discrete_inputs[i].addr)]),
        Table::InputRegisters => Variant::Double(plc.input_registers[i].value(&memory.input)),
        Table::HoldingRegisters => Variant::Double(plc.holding_registers[i].value(&memory.holding)),
    }
}

impl PlcNodes {
    fn id(&self, point: &str) -> NodeId {
        NodeId::new(self.namespace.namespace_index, point)
    }

    /// The current value of every node (in `ids` order), from the latest snapshot.
    fn values(&self) -> Vec<Variant> {
        let snapshot = self.cx.live.snapshot();
        let memory = &snapshot.plcs[self.plc.ix()].memory;
        let plc = &self.cx.live.scenario.plcs[self.plc.ix()];
        self.nodes.values().map(|n| variant(plc, memory, *n)).collect()
    }

    /// Writes the values that changed since `last` into the address space, notifying
    /// subscriptions; `last` becomes the values now.
    pub fn update(
        manager: &InMemoryNodeManager<PlcNodes>,
        subscriptions: &opcua::server::SubscriptionCache,
        last: &mut Vec<Variant>,
    ) {
        let nodes = manager.inner();
        let values = nodes.values();
        let now = DateTime::now();
        let changed: Vec<(&NodeId, Option<&opcua::types::NumericRange>, DataValue)> = values
            .iter()
            .enumerate()
            .filter(|(i, v)| last.get(*i) != Some(v))
            .map(|(i, v)| (&nodes.ids[i], None, DataValue::new_at(v.clone(), now)))
            .collect();
        if !changed.is_empty() {
            let _ = manager.set_values(subscriptions, changed.into_iter());
        }
        *last = values;
    }

    /// The client of a request's secure channel, if it came through the listener.
    fn peer(&self, context: &RequestContext) -> Option<Peer> {
        self.channels.peer(context.session().read().secure_channel_id())
    }

    /// The conduit's verdict on a request of `service` (judged as a Modbus read) from
    /// `source`, recorded; the status to answer every node with when refused.
    fn admit(&self, peer: Option<Peer>, service: u8, node: &str) -> Result<(), StatusCode> {
        let Some(peer) = peer else { return Err(StatusCode::BadUserAccessDenied) };
        let snapshot = self.cx.live.snapshot();
        let fw = Request {
            source: peer.host,
            plc: self.plc,
            function: 3,
            addr: 0,
            registers: &[],
            native: Some(Native::OpcUa(service)),
        };
        let verdict = check_request(&self.cx.live.scenario, &snapshot.net, fw);
        if let Some(reason) = snapshot.plcs[self.plc.ix()].silence() {
            self.record(peer, service, node, None, Some(reason));
            return Err(StatusCode::BadResourceUnavailable);
        }
        self.record(peer, service, node, None, verdict.err());
        verdict.map_err(status_of)
    }

    /// Records a request the endpoint answered alone, within the range's record budget (a
    /// routine client's are in the log already).
    fn record(&self, peer: Peer, service: u8, node: &str, value: Option<f64>, reason: Option<RejectReason>) {
        if peer.routine {
            return;
        }
        let source = peer.host;
        let function = icsdrill_engine::scenario::opcua::equivalent_function(service);
        self.cx.live.record_traffic(self.plc, source, Some(function), 1, reason.is_some(), || {
            self.input(source, service, node, value, reason)
        });
    }

    fn input(
        &self,
        source: HostIdx,
        service: u8,
        node: &str,
        value: Option<f64>,
        reason: Option<RejectReason>,
    ) -> SimInput {
        let s = &self.cx.live.scenario;
        SimInput::OpcUa(OpcUaTransaction {
            plc: s.plcs[self.plc.ix()].id.clone(),
            source: s.hosts[source.ix()].id.clone(),
            service,
            node: node.into(),
            value,
            reason,
            repeat: 1,
        })
    }

    /// The point id of one of our nodes.
    fn point<'a>(&self, id: &'a NodeId) -> Option<&'a str> {
        match &id.identifier {
            opcua::types::Identifier::String(s) if id.namespace == self.namespace.namespace_index => {
                s.value().as_deref().filter(|p| self.nodes.contains_key(*p))
            }
            _ => None,
        }
    }

    /// The point named by a list of nodes when there is one (what a record cites).
    fn cited<'a>(&self, ids: impl IntoIterator<Item = &'a NodeId>) -> String {
        let mut points = ids.into_iter().filter_map(|id| self.point(id));
        match (points.next(), points.next()) {
            (Some(p), None) => p.to_string(),
            _ => String::new(),
        }
    }

    /// One write: mapped, judged by the conduit, taken from the tick's budget, applied.
    async fn write_one(&self, peer: Peer, id: &NodeId, value: &DataValue) -> StatusCode {
        let Some(point) = self.point(id) else { return StatusCode::BadNodeIdUnknown };
        let plc = &self.cx.live.scenario.plcs[self.plc.ix()];
        // A bit takes a Boolean, a register a number, as the variables' data types say.
        let bit = self.nodes.get(point).is_some_and(|n| n.bit());
        let number = match (&value.value, bit) {
            (Some(Variant::Boolean(b)), true) => Some(f64::from(u8::from(*b))),
            (Some(Variant::Boolean(_)), false) | (_, true) | (None, _) => None,
            (Some(v), false) => v.as_f64(),
        };
        let Some(number) = number else {
            self.record(peer, services::WRITE, point, None, Some(RejectReason::IllegalValue));
            return StatusCode::BadTypeMismatch;
        };
        let write = match plc.opcua_write(point, number) {
            Ok(w) => w,
            Err(reason) => {
                self.record(peer, services::WRITE, point, Some(number), Some(reason));
                return status_of(reason);
            }
        };
        let words = match &write {
            icsdrill_engine::scenario::iec104::Write::Registers { words, .. } => words.clone(),
            icsdrill_engine::scenario::iec104::Write::Coil { .. } => Vec::new(),
        };
        let source = peer.host;
        let fw = Request {
            source,
            plc: self.plc,
            function: write.function(),
            addr: write.addr(),
            registers: &words,
            native: Some(Native::OpcUa(services::WRITE)),
        };
        if let Err(reason) = check_request(&self.cx.live.scenario, &self.cx.live.snapshot().net, fw) {
            self.record(peer, services::WRITE, point, Some(number), Some(reason));
            return status_of(reason);
        }
        if peer.routine {
            // Applied by the simulation at the tick that sent it: answered only.
            return StatusCode::Good;
        }
        if !self.cx.live.take_write(self.plc, source, write.function()) {
            // Over this tick's write budget: counted in the tick's traffic summary.
            return StatusCode::BadTooManyOperations;
        }
        match self.cx.live.apply(self.input(source, services::WRITE, point, Some(number), None)).await {
            Ok(()) => StatusCode::Good,
            Err(Some(reason)) => status_of(reason),
            Err(None) => StatusCode::BadResourceUnavailable,
        }
    }
}

#[async_trait::async_trait]
impl InMemoryNodeManagerImpl for PlcNodes {
    async fn init(&self, address_space: &mut AddressSpace, _context: ServerContext) {
        let s = &self.cx.live.scenario;
        let plc = &s.plcs[self.plc.ix()];
        let folder = NodeId::new(self.namespace.namespace_index, format!("plc:{}", plc.id));
        let ns = self.namespace.namespace_index;
        address_space.add_folder(
            &folder,
            QualifiedName::new(ns, plc.id.as_str()),
            plc.name.en.as_str(),
            &ObjectId::ObjectsFolder.into(),
        );
        for (((point, node), id), value) in self.nodes.iter().zip(&self.ids).zip(self.values()) {
            let name = match node.table {
                Table::Coils => &plc.coils[node.point.ix()].name,
                Table::DiscreteInputs => &plc.discrete_inputs[node.point.ix()].name,
                Table::InputRegisters => &plc.input_registers[node.point.ix()].name,
                Table::HoldingRegisters => &plc.holding_registers[node.point.ix()].name,
            };
            let access = if node.writable() {
                AccessLevel::CURRENT_READ | AccessLevel::CURRENT_WRITE
            } else {
                AccessLevel::CURRENT_READ
            };
            VariableBuilder::new(id, QualifiedName::new(ns, point.as_str()), name.en.as_str())
                .description(LocalizedText::new("zh-CN", &name.zh))
                .data_type(if node.bit() { DataTypeId::Boolean } else { DataTypeId::Double })
                .value(value)
                .access_level(access)
                .user_access_level(access)
                .has_type_definition(if node.bit() {
                    VariableTypeId::BaseDataVariableType
                } else {
                    VariableTypeId::AnalogItemType
                })
                .organized_by(folder.clone())
                .insert(address_space);
            if node.bit() {
                continue;
            }
            let unit = s.unit_of(plc, *node);
            let eu = EUInformation {
                namespace_uri: "http://www.opcfoundation.org/UA/units/un/cefact".into(),
                unit_id: -1,
                display_name: LocalizedText::new("", unit),
                description: LocalizedText::new("", unit),
            };
            self.property(address_space, point, "EngineeringUnits", ExtensionObject::from_message(eu).into());
            if let Some([low, high]) = (node.table == Table::HoldingRegisters)
                .then(|| plc.holding_registers[node.point.ix()].range)
                .flatten()
            {
                let range = ExtensionObject::from_message(Range { low, high });
                self.property(address_space, point, "EURange", range.into());
            }
        }
    }

    fn name(&self) -> &str {
        "icsdrill-plc"
    }

    fn namespaces(&self) -> Vec<NamespaceMetadata> {
        vec![self.namespace.clone()]
    }

    async fn read_values(
        &self,
        context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        nodes: &[&ParsedReadValueId],
        max_age: f64,
        timestamps_to_return: TimestampsToReturn,
    ) -> Vec<DataValue> {
        let cited = self.cited(nodes.iter().map(|n| &n.node_id));
        if let Err(status) = self.admit(self.peer(context), services::READ, &cited) {
            return nodes.iter().map(|_| DataValue { status: Some(status), ..Default::default() }).collect();
        }
        let address_space = address_space.read();
        nodes.iter().map(|n| address_space.read(context, n, max_age, timestamps_to_return)).collect()
    }

    async fn create_value_monitored_items(
        &self,
        context: &RequestContext,
        address_space: &RwLock<AddressSpace>,
        items: &mut [&mut &mut CreateMonitoredItem],
    ) {
        let cited = self.cited(items.iter().map(|i| &i.item_to_monitor().node_id));
        if let Err(status) = self.admit(self.peer(context), services::SUBSCRIBE, &cited) {
            for item in items.iter_mut() {
                item.set_status(status);
            }
            return;
        }
        let address_space = address_space.read();
        for item in items.iter_mut() {
            let value = address_space.read(context, item.item_to_monitor(), 0.0, TimestampsToReturn::Both);
            if value.status() != StatusCode::BadAttributeIdInvalid {
                item.set_initial_value(value);
            }
            item.set_status(StatusCode::Good);
        }
    }

    async fn write(
        &self,
        context: &RequestContext,
        _address_space: &RwLock<AddressSpace>,
        nodes_to_write: &mut [&mut WriteNode],
    ) -> Result<(), StatusCode> {
        let Some(peer) = self.peer(context) else {
            for w in nodes_to_write.iter_mut() {
                w.set_status(StatusCode::BadUserAccessDenied);
            }
            return Ok(());
        };
        for w in nodes_to_write.iter_mut() {
            let status = if w.value().attribute_id != AttributeId::Value || !w.value().index_range.is_none() {
                StatusCode::BadNotWritable
            } else {
                let (id, value) = (w.value().node_id.clone(), w.value().value.clone());
                self.write_one(peer, &id, &value).await
            };
            w.set_status(status);
        }
        Ok(())
    }
}

impl PlcNodes {
    /// Adds a property (`EngineeringUnits`, `EURange`) to variable `of`.
    fn property(&self, address_space: &mut AddressSpace, point: &str, name: &str, value: Variant) {
        let of = self.id(point);
        let id = NodeId::new(self.namespace.namespace_index, format!("{point}.{name}"));
        VariableBuilder::new(&id, name, name)
            .data_type(if name == "EURange" { DataTypeId::Range } else { DataTypeId::EUInformation })
            .value(value)
            .access_level(AccessLevel::CURRENT_READ)
            .user_access_level(AccessLevel::CURRENT_READ)
            .has_type_definition(VariableTypeId::PropertyType)
            .property_of(of)
            .insert(address_space);
    }
}
