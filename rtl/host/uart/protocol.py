"""The UART register-bridge protocol: command bytes and framing, defined once.

Pure Python (no Amaranth) so the gateware (rtl/host/uart/bridge.py) and the control
plane's uart transport share one definition of the wire format. The full spec is
docs/host_links.md; in short, all multi-byte fields big-endian:

  request   SOF_REQ  cmd  addr[4]  (data[4] | count[1] | -)  crc
  response  SOF_RSP  cmd  status   (data[4] | data[4*count] | -)  crc

`crc` is CRC-8 (poly 0x07, init 0, no reflection, no final xor) over every byte
after the start byte. A request frame is complete when its command's length has
arrived; if the line goes idle for TIMEOUT_BYTES byte-times first, the bridge
answers TIMEOUT. Error responses carry no data.
"""

SOF_REQ = 0xA5
SOF_RSP = 0x5A

CMD_READ = 0x01          # addr -> one word
CMD_WRITE = 0x02         # addr, data -> status only
CMD_BURST = 0x03         # addr, count -> count words from addr, addr+4, ...
COMMANDS = (CMD_READ, CMD_WRITE, CMD_BURST)

ST_OK = 0x00
ST_BAD_CRC = 0x01        # checksum mismatch: nothing was done
ST_BAD_CMD = 0x02        # unknown command byte (answered at once, rest is noise)
ST_BAD_ADDR = 0x03       # misaligned, or beyond ADDR_SPACE (burst end included)
ST_TIMEOUT = 0x04        # line idle mid-frame: the partial frame was dropped
ST_BAD_LEN = 0x05        # burst count 0 or above MAX_BURST
STATUS_NAMES = {ST_OK: "ok", ST_BAD_CRC: "bad_crc", ST_BAD_CMD: "bad_cmd",
                ST_BAD_ADDR: "bad_addr", ST_TIMEOUT: "timeout", ST_BAD_LEN: "bad_len"}

MAX_BURST = 16           # words per burst read
ADDR_SPACE = 0x10000     # bytes of register space (the CSR bus is 16 bits wide)
TIMEOUT_BYTES = 4        # idle byte-times mid-frame before a frame is abandoned

CRC_WIDTH = 8
CRC_POLY = 0x07
CRC_INIT = 0x00

#: Request bytes after the start byte (cmd .. crc inclusive), by command.
REQUEST_LEN = {CMD_READ: 1 + 4 + 1, CMD_WRITE: 1 + 4 + 4 + 1, CMD_BURST: 1 + 4 + 1 + 1}


def crc8(data, crc=CRC_INIT):
    """CRC-8/SMBUS, bit-serial (the control plane's copy; check value 0xF4)."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _frame(sof, body):
    body = bytes(body)
    return bytes([sof]) + body + bytes([crc8(body)])


def encode_read(addr):
    return _frame(SOF_REQ, [CMD_READ, *addr.to_bytes(4, "big")])


def encode_write(addr, value):
    return _frame(SOF_REQ, [CMD_WRITE, *addr.to_bytes(4, "big"), *value.to_bytes(4, "big")])


def encode_burst(addr, count):
    return _frame(SOF_REQ, [CMD_BURST, *addr.to_bytes(4, "big"), count])


def response_len(cmd, status, count=1):
    """Total bytes of a response, start byte and crc included."""
    words = 0
    if status == ST_OK and cmd == CMD_READ:
        words = 1
    elif status == ST_OK and cmd == CMD_BURST:
        words = count
    return 1 + 2 + 4 * words + 1


class ProtocolError(Exception):
    pass


def decode_response(frame):
    """(cmd, status, [words]) from one complete response frame; raises ProtocolError."""
    frame = bytes(frame)
    if len(frame) < 4 or frame[0] != SOF_RSP:
        raise ProtocolError(f"not a response frame: {frame.hex()}")
    body, crc = frame[1:-1], frame[-1]
    if crc8(body) != crc:
        raise ProtocolError(f"response crc mismatch: {frame.hex()}")
    cmd, status, data = body[0], body[1], body[2:]
    if len(data) % 4:
        raise ProtocolError(f"response data not whole words: {frame.hex()}")
    return cmd, status, [int.from_bytes(data[i:i + 4], "big") for i in range(0, len(data), 4)]
