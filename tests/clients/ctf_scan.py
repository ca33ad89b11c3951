"""A contest team hunting a PLC's hidden memory with pymodbus, as a trainee would: probe the
input registers one address in every 16 up to 4096, note which answer (an unmapped address
answers exception 02), read each mapped block past the documented map whole and decode it as
ASCII, two characters a register, high byte first.

Usage: ctf_scan.py HOST PORT SOURCE_ADDRESS DOCUMENTED_END. Prints the flag it found and exits
0, or exits 1 when none is there."""

import sys

from pymodbus.client import ModbusTcpClient


def main():
    host, port, source, documented = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    client = ModbusTcpClient(host, port=port, source_address=(source, 0), timeout=5, retries=0)
    if not client.connect():
        print("ctf_scan: cannot connect", file=sys.stderr)
        sys.exit(1)
    answered = [a for a in range(0, 4096, 16) if not client.read_input_registers(a, count=1).isError()]
    past = [a for a in answered if a >= documented]
    print(f"ctf_scan: {len(answered)} probes answered, past the map at {past}", file=sys.stderr)
    for start in past:
        r = client.read_input_registers(start, count=16)
        if r.isError():
            continue
        text = b"".join(w.to_bytes(2, "big") for w in r.registers).rstrip(b"\0").decode("ascii", "replace")
        if text.startswith("flag{"):
            print(text)
            client.close()
            return
    client.close()
    print("ctf_scan: no flag found", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
