"""UART bridge protocol: the shared wire module (rtl/host/uart/protocol.py) vs the reference model."""
import random

import pytest

from tickwire.model import uart as M
from tickwire.rtl.host.uart import protocol as P


def test_crc_check_values_agree():
    # CRC-8/SMBUS catalogue check value for "123456789".
    assert P.crc8(b"123456789") == 0xF4
    assert M.crc8(b"123456789") == 0xF4
    rng = random.Random(1)
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        assert P.crc8(data) == M.crc8(data)
        assert P.crc8(data + bytes([P.crc8(data)])) == 0      # residue: codeword checks to 0


def test_constants_match_the_spec_restated_in_the_model():
    assert (P.SOF_REQ, P.SOF_RSP) == (M.SOF_REQ, M.SOF_RSP)
    assert (P.CMD_READ, P.CMD_WRITE, P.CMD_BURST) == (M.READ, M.WRITE, M.BURST)
    assert (P.ST_OK, P.ST_BAD_CRC, P.ST_BAD_CMD, P.ST_BAD_ADDR, P.ST_TIMEOUT, P.ST_BAD_LEN) == \
        (M.OK, M.BAD_CRC, M.BAD_CMD, M.BAD_ADDR, M.TIMEOUT, M.BAD_LEN)
    assert P.REQUEST_LEN == M.BODY_LEN and P.MAX_BURST == M.MAX_BURST and P.ADDR_SPACE == M.SPACE


def test_encoders_agree_byte_for_byte():
    assert P.encode_read(0x1234) == M.encode_request(M.READ, 0x1234)
    assert P.encode_write(0x10, 0xDEADBEEF) == M.encode_request(M.WRITE, 0x10, 0xDEADBEEF)
    assert P.encode_burst(0x200, 7) == M.encode_request(M.BURST, 0x200, 7)
    # Big-endian fields, explicit layout.
    assert P.encode_write(0x10, 0xDEADBEEF)[:10] == bytes(
        [0xA5, 0x02, 0, 0, 0, 0x10, 0xDE, 0xAD, 0xBE, 0xEF])


def bridge(regs):
    writes = []
    model = M.BridgeModel(lambda a: regs.get(a, 0), lambda a, v: writes.append((a, v)))
    return model, writes


def test_model_read_write_burst_round_trip_through_protocol_decoder():
    regs = {0: 0x544B5752, 4: 1, 8: 0xABCDEF01}
    model, writes = bridge(regs)
    rsp = model.feed(P.encode_read(0))
    assert len(rsp) == P.response_len(P.CMD_READ, P.ST_OK)
    assert P.decode_response(rsp) == (P.CMD_READ, P.ST_OK, [0x544B5752])
    assert P.decode_response(model.feed(P.encode_burst(0, 3))) == (P.CMD_BURST, P.ST_OK,
                                                                   [0x544B5752, 1, 0xABCDEF01])
    assert P.decode_response(model.feed(P.encode_write(0x10, 5))) == (P.CMD_WRITE, P.ST_OK, [])
    assert writes == [(0x10, 5)]
    assert model.counts["reads"] == 2 and model.counts["writes"] == 1


def test_model_error_replies():
    model, writes = bridge({})
    bad = bytearray(P.encode_write(0x10, 5))
    bad[7] ^= 0x40
    assert P.decode_response(model.feed(bytes(bad)))[1] == P.ST_BAD_CRC
    assert P.decode_response(model.feed(bytes([P.SOF_REQ, 0x09])))[:2] == (0x09, P.ST_BAD_CMD)
    assert P.decode_response(model.feed(P.encode_read(6)))[1] == P.ST_BAD_ADDR
    assert P.decode_response(model.feed(P.encode_read(P.ADDR_SPACE)))[1] == P.ST_BAD_ADDR
    assert P.decode_response(model.feed(P.encode_burst(P.ADDR_SPACE - 8, 3)))[1] == P.ST_BAD_ADDR
    assert P.decode_response(model.feed(P.encode_burst(0, 0)))[1] == P.ST_BAD_LEN
    assert P.decode_response(model.feed(P.encode_burst(0, P.MAX_BURST + 1)))[1] == P.ST_BAD_LEN
    assert writes == []
    assert model.counts["bad_frames"] == 4 and model.counts["bad_addr"] == 3


def test_model_timeout_noise_and_resync():
    model, _ = bridge({0: 7})
    assert model.feed(b"\x00\xff\x13") == b""                     # idle-line noise
    assert model.counts["noise"] == 3
    assert model.idle() == b""                                    # nothing pending: no reply
    assert model.feed(P.encode_write(0, 1)[:4]) == b""
    assert P.decode_response(model.idle()) == (P.CMD_WRITE, P.ST_TIMEOUT, [])
    assert P.decode_response(model.feed(P.encode_read(0))) == (P.CMD_READ, P.ST_OK, [7])
    assert model.counts["timeouts"] == 1


def test_decoders_reject_corruption():
    rsp = M.encode_response(M.READ, M.OK, [0x01020304])
    assert P.decode_response(rsp) == (P.CMD_READ, P.ST_OK, [0x01020304])
    assert M.decode_response(rsp) == (M.READ, M.OK, [0x01020304])
    for i in range(len(rsp)):
        bad = bytearray(rsp)
        bad[i] ^= 0x10
        with pytest.raises(P.ProtocolError):
            P.decode_response(bytes(bad))
        assert M.decode_response(bytes(bad)) is None
