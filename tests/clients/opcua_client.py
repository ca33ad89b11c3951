"""An OPC UA client (asyncua, as a line's MES or a trainee's UaExpert would be) against the
welding cell's PLC: browse, read with engineering units and ranges, write a set point,
subscribe to a measured value (and no more subscriptions than the limit), refused writes with
their status codes, then the same over a
Basic256Sha256 Sign&Encrypt secure channel with a certificate of its own.

Usage: opcua_client.py URL WORKDIR. Prints "all checks passed" on success.
"""

import asyncio
import socket
import sys
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

URL, WORK = sys.argv[1], sys.argv[2]
TIMEOUT_S = 15.0
NS_URI = "urn:icsdrill:plc"
MAX_SUBSCRIPTIONS = 10


def check(what, ok):
    if not ok:
        raise SystemExit(f"check failed: {what}")


async def refused(node, value, variant, expected):
    """Writes `value`; the write must be refused with `expected`."""
    try:
        await node.write_value(ua.DataValue(ua.Variant(value, variant)))
    except ua.UaStatusCodeError as e:
        check(f"{expected} for {value}, got {e.code}", e.code == expected)
        return
    raise SystemExit(f"writing {value} was not refused")


async def wait_value(node, want):
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while True:
        v = await node.read_value()
        if v == want:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(f"timed out waiting for {want}, last {v}")
        await asyncio.sleep(0.05)


class Changes:
    def __init__(self):
        self.values = []

    def datachange_notification(self, node, val, data):
        self.values.append(val)


async def plain():
    async with Client(url=URL, timeout=TIMEOUT_S) as c:
        ns = await c.get_namespace_index(NS_URI)
        # Browse: the PLC's folder under Objects, a variable per point.
        folders = {(await n.read_browse_name()).Name: n for n in await c.nodes.objects.get_children()}
        check("the PLC's folder is browsed", "plc-weld" in folders)
        names = {(await n.read_browse_name()).Name for n in await folders["plc-weld"].get_children()}
        check(f"every point is a node ({sorted(names)})", {"weld_sp", "ct201_ir", "weld_arc_on", "weld_manual"} <= names)
        sp = c.get_node(f"ns={ns};s=weld_sp")
        check("the set point reads its initial value", await sp.read_value() == 320.0)
        check("a set point is a Double", await sp.read_data_type_as_variant_type() == ua.VariantType.Double)
        eu_range = await (await sp.get_child(["0:EURange"])).read_value()
        check(f"its EURange is the declared range ({eu_range})", (eu_range.Low, eu_range.High) == (200.0, 380.0))
        units = await (await sp.get_child(["0:EngineeringUnits"])).read_value()
        check(f"its unit is A ({units})", units.DisplayName.Text == "A")
        arc = c.get_node(f"ns={ns};s=weld_arc_on")
        check("a discrete input is a Boolean", isinstance(await arc.read_value(), bool))
        # Subscribe to the weld current: the range pushes its changes after every tick.
        changes = Changes()
        sub = await c.create_subscription(100, changes)
        ct = c.get_node(f"ns={ns};s=ct201_ir")
        await sub.subscribe_data_change(ct)
        deadline = asyncio.get_running_loop().time() + TIMEOUT_S
        while len(changes.values) < 4:
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"only {len(changes.values)} data changes")
            await asyncio.sleep(0.05)
        check(f"the weld current moves near 320 A ({changes.values[:4]})", all(250 < v < 400 for v in changes.values))
        # Write a set point: applied by the PLC at its next tick.
        await sp.write_value(ua.DataValue(ua.Variant(330.0, ua.VariantType.Double)))
        await wait_value(sp, 330.0)
        # Refused writes: a value the register cannot hold, a read-only point, a wrong type.
        await refused(sp, 1.0e9, ua.VariantType.Double, ua.StatusCodes.BadOutOfRange)
        await refused(ct, 100.0, ua.VariantType.Double, ua.StatusCodes.BadNotWritable)
        await refused(sp, "hot", ua.VariantType.String, ua.StatusCodes.BadTypeMismatch)
        await sub.delete()
        # A session holds at most MAX_SUBSCRIPTIONS subscriptions (server::MAX_SUBSCRIPTIONS).
        held = [await c.create_subscription(1000, Changes()) for _ in range(MAX_SUBSCRIPTIONS)]
        try:
            await c.create_subscription(1000, Changes())
        except ua.UaStatusCodeError as e:
            check(f"BadTooManySubscriptions, got {e.code}", e.code == ua.StatusCodes.BadTooManySubscriptions)
        else:
            raise SystemExit(f"subscription {MAX_SUBSCRIPTIONS + 1} was granted")
        for h in held:
            await h.delete()


async def secure():
    cert, key = Path(WORK) / "client.der", Path(WORK) / "client.pem"
    uri = "urn:icsdrill:test-client"
    await setup_self_signed_certificate(
        key_file=key,
        cert_file=cert,
        app_uri=uri,
        host_name=socket.gethostname(),
        cert_use=[ExtendedKeyUsageOID.CLIENT_AUTH],
        subject_attrs={"countryName": "CN", "organizationName": "icsdrill", "commonName": "test client"},
    )
    c = Client(url=URL, timeout=TIMEOUT_S)
    c.application_uri = uri
    await c.set_security(SecurityPolicyBasic256Sha256, cert, key, mode=ua.MessageSecurityMode.SignAndEncrypt)
    async with c:
        ns = await c.get_namespace_index(NS_URI)
        sp = c.get_node(f"ns={ns};s=weld_sp")
        check("the set point written in the clear reads back encrypted", await sp.read_value() == 330.0)
        await sp.write_value(ua.DataValue(ua.Variant(340.0, ua.VariantType.Double)))
        await wait_value(sp, 340.0)


async def main():
    await plain()
    await secure()
    print("all checks passed")


asyncio.run(main())
