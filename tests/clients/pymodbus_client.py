"""A trainee's pymodbus session against two live icsdrill PLCs (tank T-101 and reactor R-201
of the petrochem-tank-farm scenario): every supported function code, an exception, and a set
point write whose effect on the process shows in later reads.

Usage: pymodbus_client.py HOST T101_PORT R201_PORT. Exits 0 when every check passes."""

import sys
import time

from pymodbus.client import ModbusTcpClient


def check(cond, what):
    if not cond:
        print(f"pymodbus check failed: {what}", file=sys.stderr)
        sys.exit(1)


def ok(response, what):
    check(not response.isError(), f"{what}: {response}")
    return response


def main():
    host, t101_port, r201_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t101 = ModbusTcpClient(host, port=t101_port, timeout=5, retries=0)
    check(t101.connect(), "connect to T-101")

    # FC 1 and 2: coils (manual, command, pump run) and discrete inputs.
    coils = ok(t101.read_coils(0, count=3, device_id=1), "FC1").bits[:3]
    check(coils == [False, False, True], f"FC1 coils {coils}")
    inputs = ok(t101.read_discrete_inputs(0, count=4, device_id=1), "FC2").bits[:4]
    check(inputs == [False, True, False, False], f"FC2 discrete inputs {inputs}")
    # FC 3 and 4.
    regs = ok(t101.read_holding_registers(0, count=5, device_id=1), "FC3").registers
    check(regs == [400, 600, 850, 900, 150], f"FC3 holding registers {regs}")
    level = ok(t101.read_input_registers(0, count=3, device_id=1), "FC4").registers
    check(len(level) == 3 and 300 <= level[0] <= 700, f"FC4 input registers {level}")
    # FC 5 and 15, read back.
    ok(t101.write_coil(0, True, device_id=1), "FC5")
    check(ok(t101.read_coils(0, count=1, device_id=1), "FC1").bits[0], "FC5 took effect")
    ok(t101.write_coils(0, [False, False], device_id=1), "FC15")
    check(ok(t101.read_coils(0, count=2, device_id=1), "FC1").bits[:2] == [False, False], "FC15 took effect")
    # FC 6 and 16, read back.
    ok(t101.write_register(4, 160, device_id=1), "FC6")
    check(ok(t101.read_holding_registers(4, count=1, device_id=1), "FC3").registers == [160], "FC6 took effect")
    ok(t101.write_registers(2, [840, 890], device_id=1), "FC16")
    check(ok(t101.read_holding_registers(2, count=2, device_id=1), "FC3").registers == [840, 890], "FC16 took effect")
    # FC 23: write first, then read.
    rw = ok(t101.readwrite_registers(read_address=2, read_count=3, write_address=4, values=[150], device_id=1), "FC23")
    check(rw.registers == [840, 890, 150], f"FC23 registers {rw.registers}")
    # FC 43/14: basic device identification.
    info = ok(t101.read_device_information(read_code=1, object_id=0, device_id=1), "FC43").information
    check(info.get(0) == b"Siemens" and info.get(1) == b"S7-1200 CPU 1214C" and info.get(2) == b"V4.5", f"FC43 {info}")
    # FC 17: report server id.
    server = ok(t101.report_device_id(device_id=1), "FC17")
    check(b"Siemens" in server.identifier and server.status, f"FC17 {server.identifier!r} {server.status}")
    # FC 8 sub-function 0: echo.
    echo = ok(t101.diag_query_data(msg=b"\xa5\x37", device_id=1), "FC8")
    check(echo.message == b"\xa5\x37", f"FC8 echo {echo.message!r}")
    # An unmapped address is exception 2.
    bad = t101.read_holding_registers(5, count=1, device_id=1)
    check(bad.isError() and bad.exception_code == 2, f"unmapped read {bad}")
    t101.close()

    # The process answers a set point write: lower the reactor temperature set point from
    # 120.0 to 100.0 degC and watch the measured temperature fall.
    r201 = ModbusTcpClient(host, port=r201_port, timeout=5, retries=0)
    check(r201.connect(), "connect to R-201")
    start = ok(r201.read_input_registers(0, count=1, device_id=1), "FC4").registers[0]
    check(1150 <= start <= 1250, f"reactor starts near 120.0 degC: {start}")
    ok(r201.write_register(0, 1000, device_id=1), "FC6 set point")
    deadline = time.time() + 60
    temp = start
    while time.time() < deadline:
        temp = ok(r201.read_input_registers(0, count=1, device_id=1), "FC4").registers[0]
        if temp < 1120:
            break
        time.sleep(0.2)
    check(temp < 1120, f"reactor temperature did not fall: {start} -> {temp}")
    r201.close()
    print(f"pymodbus: all checks passed (reactor {start / 10} -> {temp / 10} degC)")


main()
