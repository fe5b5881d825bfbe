"""UART register bridge: framed read / write / burst-read requests to the CSR bus.

Wire format and command bytes come from protocol.py (shared with the control plane);
docs/host_links.md is the spec. One request at a time: receive and check a frame,
do its bus transactions, stream the response; bytes arriving while busy are noise.
Every request that completes its frame, and every abandoned one (line idle for
TIMEOUT_BYTES byte-times), gets a response, so the host never waits forever, and
bad input only costs a counter.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import crc, wiring
from amaranth.lib.wiring import In, Out

from ..bus.arbiter import CsrReqSignature
from .. import link_regs
from ...regmap.binding import register_members
from . import protocol as P
from .phy import UartRx, UartTx

CRC8 = crc.Algorithm(crc_width=P.CRC_WIDTH, polynomial=P.CRC_POLY, initial_crc=P.CRC_INIT,
                     reflect_input=False, reflect_output=False, xor_output=0)


class UartBridge(wiring.Component):
    registers = link_regs.UART

    def __init__(self, divisor):
        """divisor: clock cycles per bit, e.g. 156.25 MHz / 3 Mbaud -> 52."""
        self.divisor = divisor
        self.timeout_cycles = P.TIMEOUT_BYTES * 10 * divisor
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "csr": Out(CsrReqSignature()),
                          **register_members(self.registers)})

    def _response_states(self, m, send, utx, tx_crc, cmd, status, addr, word, left):
        """The FSM's response states (called inside its `with m.FSM()`): SOF cmd status
        [words, read from the bus one at a time] crc."""
        with m.State("R_SOF"):
            send(P.SOF_RSP, "R_CMD", feed=False, first=True)
        with m.State("R_CMD"):
            send(cmd, "R_ST")
        with m.State("R_ST"):
            ok_read = (status == P.ST_OK) & (cmd != P.CMD_WRITE)
            send(status, "R_ST")
            with m.If(utx.ready):
                m.next = "R_CRC"
                with m.If(ok_read):
                    m.next = "R_READ"
        with m.State("R_READ"):
            m.d.comb += [self.csr.r_stb.eq(1), self.csr.addr.eq(addr)]
            with m.If(self.csr.ack):
                m.d.sync += [word.eq(self.csr.r_data), addr.eq(addr + 4), left.eq(left - 1)]
                m.next = "R_D0"
        for i in range(4):
            with m.State(f"R_D{i}"):
                nxt = f"R_D{i + 1}" if i < 3 else "R_NEXT"
                send(word.word_select(3 - i, 8), nxt)
        with m.State("R_NEXT"):
            m.next = "R_READ"
            with m.If(left == 0):
                m.next = "R_CRC"
        with m.State("R_CRC"):
            send(tx_crc.crc, "HUNT", feed=False)

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = UartRx(self.divisor)
        m.submodules.utx = utx = UartTx(self.divisor)
        m.submodules.rx_crc = rx_crc = CRC8(data_width=8).create()
        m.submodules.tx_crc = tx_crc = CRC8(data_width=8).create()
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]
        m.d.comb += self.ev_uart_noise.eq(urx.frame_error)

        cmd, count = Signal(8), Signal(8)
        addr, wdata, word = Signal(32), Signal(32), Signal(32)
        idx = Signal(4)                        # body bytes received so far
        left = Signal(8)                       # words still to read
        status = Signal(8)
        idle = Signal(range(self.timeout_cycles + 1))
        byte = urx.data
        got = urx.valid

        body_len = Signal(4)
        m.d.comb += body_len.eq(Mux(cmd == P.CMD_READ, P.REQUEST_LEN[P.CMD_READ],
                                Mux(cmd == P.CMD_WRITE, P.REQUEST_LEN[P.CMD_WRITE],
                                    P.REQUEST_LEN[P.CMD_BURST])))
        known = Cat(byte == c for c in P.COMMANDS).any()
        n_words = Mux(cmd == P.CMD_BURST, count, 1)
        end = addr + (n_words << 2)
        addr_bad = (addr[:2] != 0) | (end > P.ADDR_SPACE)
        len_bad = (cmd == P.CMD_BURST) & ((count == 0) | (count > P.MAX_BURST))

        # Transmit helper: one byte per state, CRC fed with everything after SOF.
        def send(value, nxt, feed=True, first=False):
            m.d.comb += [utx.data.eq(value), utx.valid.eq(1)]
            with m.If(utx.ready):
                m.d.comb += [tx_crc.valid.eq(feed), tx_crc.data.eq(value), tx_crc.start.eq(first)]
                m.next = nxt

        def respond(st):
            m.d.sync += status.eq(st)
            m.next = "R_SOF"

        with m.FSM() as fsm:
            with m.State("HUNT"):
                with m.If(got):
                    with m.If(byte == P.SOF_REQ):
                        m.d.sync += [idx.eq(0), idle.eq(0), cmd.eq(0)]
                        m.d.comb += rx_crc.start.eq(1)
                        m.next = "BODY"
                    with m.Else():
                        m.d.comb += self.ev_uart_noise.eq(1)
            with m.State("BODY"):
                m.d.sync += idle.eq(idle + 1)
                with m.If(got):
                    m.d.sync += [idx.eq(idx + 1), idle.eq(0)]
                    m.d.comb += [rx_crc.valid.eq(1), rx_crc.data.eq(byte)]
                    with m.Switch(idx):
                        with m.Case(0):
                            m.d.sync += cmd.eq(byte)
                            with m.If(~known):
                                m.d.comb += self.ev_uart_bad_frames.eq(1)
                                respond(P.ST_BAD_CMD)
                        for i in range(4):
                            with m.Case(1 + i):
                                m.d.sync += addr.word_select(3 - i, 8).eq(byte)
                        for i in range(4):
                            with m.Case(5 + i):
                                m.d.sync += wdata.word_select(3 - i, 8).eq(byte)
                                if i == 0:
                                    m.d.sync += count.eq(byte)
                    with m.If((idx != 0) & (idx + 1 == body_len)):
                        m.next = "CHECK"
                with m.Elif(idle == self.timeout_cycles):
                    m.d.comb += self.ev_uart_timeouts.eq(1)
                    respond(P.ST_TIMEOUT)
            with m.State("CHECK"):
                # The CRC register holds the CRC of the whole body, crc byte included.
                with m.If(~rx_crc.match_detected):
                    m.d.comb += self.ev_uart_bad_frames.eq(1)
                    respond(P.ST_BAD_CRC)
                with m.Elif(len_bad):
                    m.d.comb += self.ev_uart_bad_frames.eq(1)
                    respond(P.ST_BAD_LEN)
                with m.Elif(addr_bad):
                    m.d.comb += self.ev_uart_bad_addr.eq(1)
                    respond(P.ST_BAD_ADDR)
                with m.Elif(cmd == P.CMD_WRITE):
                    m.next = "WRITE"
                with m.Else():
                    m.d.sync += left.eq(n_words)
                    m.d.comb += self.ev_uart_reads.eq(1)
                    respond(P.ST_OK)
            with m.State("WRITE"):
                m.d.comb += [self.csr.w_stb.eq(1), self.csr.addr.eq(addr), self.csr.w_data.eq(wdata)]
                with m.If(self.csr.ack):
                    m.d.comb += self.ev_uart_writes.eq(1)
                    respond(P.ST_OK)

            self._response_states(m, send, utx, tx_crc, cmd, status, addr, word, left)

        # Bytes arriving outside HUNT/BODY (while answering) are noise.
        with m.If(got & ~(fsm.ongoing("HUNT") | fsm.ongoing("BODY"))):
            m.d.comb += self.ev_uart_noise.eq(1)
        return m
