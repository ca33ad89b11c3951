"""A defender with pymodbus during a live attack on the petrochem-tank-farm range: watch the
transaction log over HTTP for an unexpected write to tank T-101's fill stop level, then undo
it over Modbus (set point back to 60.0 %, safety interlock bypass off) and watch the fill
valve close at the restored level.

Usage: pymodbus_defender.py HTTP_BASE T101_PORT SIS_PORT. Prints the attacker's write it
found and exits 0 when the process has recovered."""

import json
import sys
import time
import urllib.request

from pymodbus.client import ModbusTcpClient


def fail(what):
    print(f"defender: {what}", file=sys.stderr)
    sys.exit(1)


def main():
    http, t101_port, sis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # 1. Detect: poll the transaction log for a write to T-101 holding register 1.
    since, attack, deadline = 0, None, time.time() + 60
    while attack is None and time.time() < deadline:
        with urllib.request.urlopen(f"{http}/api/transactions?since={since}&limit=1000", timeout=5) as r:
            page = json.load(r)
        for e in page["events"]:
            if e["kind"] == "modbus_transaction" and e["plc"] == "plc-t101" and e["function"] in (6, 16) \
                    and e["addr"] <= 1 < e["addr"] + e["count"] and e.get("exception") is None:
                attack = e
        since = page["next"]
        time.sleep(0.1)
    if attack is None:
        fail("no write to the fill stop level seen in 60 s")
    print(f"defender: saw {attack['source']} write {attack['values']} to plc-t101 register {attack['addr']} at tick {attack['tick']}")

    # 2. Respond over Modbus from the operator station.
    t101 = ModbusTcpClient("127.0.0.1", port=t101_port, timeout=5, retries=0)
    sis = ModbusTcpClient("127.0.0.1", port=sis_port, timeout=5, retries=0)
    if not (t101.connect() and sis.connect()):
        fail("cannot connect")
    # The attacker re-asserts its value for a while: keep restoring until it stays.
    deadline = time.time() + 60
    while time.time() < deadline:
        if t101.write_register(1, 600, device_id=1).isError():
            fail("set point restore refused")
        if sis.write_coil(0, False, device_id=1).isError():
            fail("bypass reset refused")
        time.sleep(0.3)
        stop = t101.read_holding_registers(1, count=1, device_id=1).registers[0]
        bypass = sis.read_coils(0, count=1, device_id=1).bits[0]
        if stop == 600 and not bypass:
            break
    # 3. Recovery: the fill valve closes at the restored 60 % (input register 1 is its position).
    deadline = time.time() + 60
    while time.time() < deadline:
        level, valve = t101.read_input_registers(0, count=2, device_id=1).registers[:2]
        stop = t101.read_holding_registers(1, count=1, device_id=1).registers[0]
        if stop == 600 and 550 <= level <= 620 and valve == 0:
            print(f"defender: recovered, level {level / 10} %, fill valve closed")
            return
        time.sleep(0.2)
    fail(f"process did not recover: level {level / 10} %, valve {valve}, fill stop {stop / 10} %")


main()
