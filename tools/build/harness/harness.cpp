// tickwire native Verilator harness: runs the clock in C++ so long replays go at
// millions of cycles/s instead of cocotb's ~100k. The design-specific glue (which
// ports exist, stream widths) is generated into tw_ports.h by tools/build/harness/ports.py;
// this file is the same for every design. File formats: protocol.py; server: client.py.
//
//   twsim --beats B --script S --out DIR [--drain N] [--timeout N] [--settle N]   batch replay
//         [--progress 1]          "progress <beats>" lines on stderr, at most 4 a second
//         [--trace OUT.fst --trace-from C --trace-cycles N]   FST of cycles [C, C+N) after
//                                 cycle 0, at time 6.4 ns x cycle (--trace-fst builds: VM_TRACE)
//   twsim --serve FD|PATH                                            socket server
//
// Host links in server mode (designs with them): bytes queued for the UART are
// serialised onto uart_rx (8N1, TW_UART_DIVISOR cycles per bit) and uart_tx is
// deserialised back into bytes, cycle by cycle; register requests can be routed
// through the PCIe BAR0 completer as UltraScale+ CQ requests, with the CC
// completions checked (requester, tag, status, byte count) before the data is used.
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "Vtw.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
#endif

typedef Vtw Top;

static const uint64_t IDLE_D = 0x0707070707070707ULL;
static const uint8_t IDLE_C = 0xFF;

[[noreturn]] static void die(const char* msg) {
    fprintf(stderr, "twsim: %s\n", msg);
    exit(2);
}

// One output stream's beats: fixed-size records (i64 cycle, payload bytes), either
// streamed to a file (batch) or held until fetched (server).
struct Sink {
    FILE* fp = nullptr;
    std::vector<uint8_t> buf;
    uint64_t count = 0;
    void put(int64_t cycle, const void* payload, size_t n) {
        size_t at = buf.size();
        buf.resize(at + 8 + n);
        memcpy(&buf[at], &cycle, 8);
        memcpy(&buf[at + 8], payload, n);
        ++count;
        if (fp && buf.size() >= (1u << 20)) flush();
    }
    void flush() {
        if (fp && !buf.empty()) {
            if (fwrite(buf.data(), 1, buf.size(), fp) != buf.size()) die("write failed");
            buf.clear();
        }
    }
};

#include "tw_ports.h"

static const int RESET_CYCLES = TW_RESET_CYCLES;  // rst high (port or wrapper counter)

// AXI4-Lite master: one transaction at a time, started no earlier than its cycle.
struct Txn {
    int64_t at;
    uint32_t op;  // 0 read, 1 write
    uint32_t addr, data;
};
struct Done {
    int64_t cycle;
    uint32_t addr, value, op;
};

struct Axi {
    std::deque<Txn> q;
    bool active = false;
    Txn cur{};
    int64_t started = 0;
    bool aw = false, w = false, ar = false;  // valid still asserted
    bool aw_f = false, w_f = false, ar_f = false, b_f = false, r_f = false;
    uint32_t rdata = 0;
    std::vector<Done> done;
    bool busy() const { return active || !q.empty(); }
};


// 8N1 UART at the design's bit time: `txq` bytes -> uart_rx, uart_tx -> `rx` bytes.
struct Uart {
    static const int D = TW_UART_DIVISOR > 0 ? TW_UART_DIVISOR : 1;
    std::deque<uint8_t> txq;
    int tx_bit = -1, tx_cnt = 0;       // -1 idle; 0 start, 1..8 data (LSB first), 9 stop
    uint8_t tx_byte = 0;
    int rx_state = -1, prev = 1;       // receiver: -1 hunting for a start edge
    int64_t rx_cnt = 0;
    uint8_t rx_byte = 0;
    std::vector<uint8_t> rx;
    uint64_t bytes_in = 0, bytes_out = 0, framing_errors = 0;

    int next_level() {
        if (tx_bit < 0) {
            if (txq.empty()) return 1;
            tx_byte = txq.front();
            txq.pop_front();
            tx_bit = tx_cnt = 0;
            ++bytes_in;
        }
        int level = tx_bit == 0 ? 0 : tx_bit <= 8 ? (tx_byte >> (tx_bit - 1)) & 1 : 1;
        if (++tx_cnt == D) {
            tx_cnt = 0;
            if (++tx_bit == 10) tx_bit = -1;
        }
        return level;
    }
    bool busy() const { return tx_bit >= 0 || !txq.empty() || rx_state >= 0; }
    // The line's level in this cycle; bits are sampled in the middle of their time.
    void sample(int v) {
        if (rx_state < 0) {
            if (prev && !v) { rx_state = 0; rx_cnt = 0; }
        } else {
            ++rx_cnt;
        }
        prev = v;
        if (rx_state < 0 || rx_cnt != D / 2 + (int64_t)rx_state * D) return;
        if (rx_state == 0) {
            if (v) rx_state = -1;                        // glitch, not a start bit
            else { rx_state = 1; rx_byte = 0; }
        } else if (rx_state <= 8) {
            rx_byte |= (uint8_t)(v << (rx_state - 1));
            ++rx_state;
        } else {
            if (v) { rx.push_back(rx_byte); ++bytes_out; }
            else ++framing_errors;
            rx_state = -1;
        }
    }
};

// PCIe root-port side of the UltraScale+ completer interface (64-bit, dword aligned):
// 1-dword memory reads/writes to BAR0 as CQ requests (PG213 descriptor), CC
// completions collected and checked. Writes are posted: done once the last beat is taken.
static const uint64_t BAR0_BASE = 0xF0000000ULL;   // any base: the endpoint masks it
static const uint32_t BAR0_APERTURE = 16;          // log2 of the BAR size (64 KiB)
static const uint16_t REQUESTER_ID = 0x0000;       // the root complex, bus 0
struct Pcie {
    std::deque<Txn> q;
    bool active = false;
    Txn cur{};
    int64_t started = 0;
    uint64_t bdata[3] = {};
    uint8_t bkeep[3] = {}, blast[3] = {};
    uint32_t buser0[3] = {}, buser1[3] = {};
    int n = 0, idx = 0;
    bool fire = false;
    uint8_t tag = 0;
    std::vector<uint32_t> cc;          // dwords of the completion being received
    bool cc_done = false;
    std::vector<Done> done;
    uint64_t reads = 0, writes = 0, bad = 0;
    uint32_t last_status = 0, last_requester = 0, last_tag = 0;
    bool busy() const { return active || !q.empty(); }
};

// Tracing must be switched on in the context before the model is constructed.
struct TraceOn {
    explicit TraceOn(VerilatedContext& c) {
#if VM_TRACE
        c.traceEverOn(true);
#else
        (void)c;
#endif
    }
};

struct Sim {
    VerilatedContext ctx;
    TraceOn trace_on{ctx};
    std::unique_ptr<Top> top;
#if VM_TRACE
    std::unique_ptr<VerilatedFstC> tfp;
#endif
    int64_t trace_from = -1, trace_until = -1;   // absolute cycles [from, until)
    int64_t trace_origin = 0;                    // cycle 0 of the replay: FST time 0
    static const uint64_t HALF_PS = 3200;        // 156.25 MHz: 6.4 ns per cycle
    Sink sinks[TW_NSTREAMS > 0 ? TW_NSTREAMS : 1];
    Axi axi;
    Uart uart;
    Pcie pcie;
    bool pcie_error = false;           // a completion did not match its request
    int64_t cyc = 0;
    int64_t timeout = 100000;
    bool timed_out = false;

    Sim() : top(new Top(&ctx)) {
        tw_init_ports(top.get());
#if TW_HAS_AXIL
        top->TW_AXI(bready) = 1;
        top->TW_AXI(rready) = 1;
        top->TW_AXI(wstrb) = 0xF;
#endif
        set_beat(IDLE_D, IDLE_C);
        set_beat_b(IDLE_D, IDLE_C);
#if TW_HAS_UART
        top->uart_rx = 1;
#endif
#if TW_HAS_PCIE
        top->TW_CQ(tvalid) = 0;
        top->TW_CC(tready) = 1;
#endif
#if TW_HAS_RST
        top->rst = 1;
#endif
        for (int i = 0; i < RESET_CYCLES; ++i) clock_only();
#if TW_HAS_RST
        top->rst = 0;
#endif
    }

    inline void set_beat(uint64_t d, uint8_t c) {
#if TW_HAS_XGMII
        top->TW_XGMII_D = d;
        top->TW_XGMII_C = c;
#else
        (void)d; (void)c;
#endif
    }

    // Port B (designs with two XGMII ports): held until the next call.
    inline void set_beat_b(uint64_t d, uint8_t c) {
#if TW_HAS_XGMII_B
        top->TW_XGMII_B_D = d;
        top->TW_XGMII_B_C = c;
#else
        (void)d; (void)c;
#endif
    }

    void clock_only() {
#if TW_HAS_CLK
        top->clk = 0;
        top->eval();
        top->clk = 1;
        top->eval();
#else
        top->eval();
#endif
    }

    void axi_drive() {
#if TW_HAS_AXIL
        if (!axi.active && !axi.q.empty() && axi.q.front().at <= cyc) {
            axi.cur = axi.q.front();
            axi.q.pop_front();
            axi.active = true;
            axi.started = cyc;
            if (axi.cur.op) {
                top->TW_AXI(awaddr) = axi.cur.addr;
                top->TW_AXI(wdata) = axi.cur.data;
                top->TW_AXI(awvalid) = 1;
                top->TW_AXI(wvalid) = 1;
                axi.aw = axi.w = true;
            } else {
                top->TW_AXI(araddr) = axi.cur.addr;
                top->TW_AXI(arvalid) = 1;
                axi.ar = true;
            }
        }
#endif
    }

    void axi_sample() {
#if TW_HAS_AXIL
        axi.aw_f = axi.aw && top->TW_AXI(awready);
        axi.w_f = axi.w && top->TW_AXI(wready);
        axi.ar_f = axi.ar && top->TW_AXI(arready);
        axi.b_f = top->TW_AXI(bvalid);
        axi.r_f = top->TW_AXI(rvalid);
        axi.rdata = top->TW_AXI(rdata);
#endif
    }

    void axi_after() {
#if TW_HAS_AXIL
        if (axi.aw_f) { top->TW_AXI(awvalid) = 0; axi.aw = false; }
        if (axi.w_f) { top->TW_AXI(wvalid) = 0; axi.w = false; }
        if (axi.ar_f) { top->TW_AXI(arvalid) = 0; axi.ar = false; }
        bool fin = axi.cur.op ? (axi.b_f && !axi.aw && !axi.w) : (axi.r_f && !axi.ar);
        if (fin) {
            axi.done.push_back({cyc, axi.cur.addr, axi.cur.op ? axi.cur.data : axi.rdata, axi.cur.op});
            axi.active = false;
        } else if (cyc - axi.started > timeout) {
            timed_out = true;
            axi.active = axi.aw = axi.w = axi.ar = false;
            top->TW_AXI(awvalid) = top->TW_AXI(wvalid) = top->TW_AXI(arvalid) = 0;
        }
#endif
    }


    // ---- PCIe: CQ requests out, CC completions in.
    void pcie_apply() {
#if TW_HAS_PCIE
        Pcie& p = pcie;
        bool on = p.active && p.idx < p.n;
        top->TW_CQ(tvalid) = on;
        int i = on ? p.idx : 0;
        top->TW_CQ(tdata) = on ? p.bdata[i] : 0;
        top->TW_CQ(tkeep) = on ? p.bkeep[i] : 0;
        top->TW_CQ(tlast) = on ? p.blast[i] : 0;
        top->TW_CQ(tuser)[0] = on ? p.buser0[i] : 0;
        top->TW_CQ(tuser)[1] = on ? p.buser1[i] : 0;
        top->TW_CQ(tuser)[2] = 0;
#endif
    }

    void pcie_drive() {
#if TW_HAS_PCIE
        Pcie& p = pcie;
        if (p.active || p.q.empty() || p.q.front().at > cyc) return;
        p.cur = p.q.front();
        p.q.pop_front();
        p.active = true;
        p.started = cyc;
        p.tag = (uint8_t)(p.tag + 1);
        p.cc.clear();
        p.cc_done = false;
        uint64_t a = BAR0_BASE | p.cur.addr;
        uint32_t dw0 = (uint32_t)a & 0xFFFFFFFCu, dw1 = (uint32_t)(a >> 32);
        uint32_t dw2 = 1u | (p.cur.op ? 1u : 0u) << 11 | (uint32_t)REQUESTER_ID << 16;
        uint32_t dw3 = p.tag | 0u << 8 | 0u << 16 | BAR0_APERTURE << 19;
        p.bdata[0] = dw0 | (uint64_t)dw1 << 32;                  // address
        p.bkeep[0] = 0x3; p.blast[0] = 0;
        p.buser0[0] = 0xF;                                       // first_be F, last_be 0
        p.buser1[0] = 1u << (40 - 32);                           // sop
        p.bdata[1] = dw2 | (uint64_t)dw3 << 32;                  // length/type/requester, tag/BAR
        p.bkeep[1] = 0x3; p.blast[1] = !p.cur.op;
        p.buser0[1] = p.buser1[1] = 0;
        p.n = 2;
        if (p.cur.op) {                                          // one payload dword
            p.bdata[2] = p.cur.data;
            p.bkeep[2] = 0x1; p.blast[2] = 1;
            p.buser0[2] = 0xFu << 8; p.buser1[2] = 0;            // byte enables, lane 0
            p.n = 3;
        }
        p.idx = 0;
        pcie_apply();
#endif
    }

    void pcie_sample() {
#if TW_HAS_PCIE
        Pcie& p = pcie;
        p.fire = top->TW_CQ(tvalid) && top->TW_CQ(tready);
        if (top->TW_CC(tvalid)) {
            uint64_t d = top->TW_CC(tdata);
            uint32_t k = top->TW_CC(tkeep);
            if (k & 1) p.cc.push_back((uint32_t)d);
            if (k & 2) p.cc.push_back((uint32_t)(d >> 32));
            if (top->TW_CC(tlast)) p.cc_done = true;
        }
#endif
    }

    // A completion for the current read: DW0 lower address/byte count, DW1 dword
    // count/status/requester, DW2 tag, DW3 data (PG213 CC descriptor).
    bool pcie_check(uint32_t& value) {
        Pcie& p = pcie;
        if (p.cc.size() < 3) return false;
        uint32_t lower = p.cc[0] & 0x7F, bytes = (p.cc[0] >> 16) & 0x1FFF;
        uint32_t dwords = p.cc[1] & 0x7FF, status = (p.cc[1] >> 11) & 7;
        p.last_status = status;
        p.last_requester = p.cc[1] >> 16;
        p.last_tag = p.cc[2] & 0xFF;
        if (status != 0 || p.last_requester != REQUESTER_ID || p.last_tag != p.tag) return false;
        if (dwords != 1 || bytes != 4 || lower != (p.cur.addr & 0x7C) || p.cc.size() != 4)
            return false;
        value = p.cc[3];
        return true;
    }

    void pcie_after() {
#if TW_HAS_PCIE
        Pcie& p = pcie;
        if (!p.active) {
            if (p.cc_done) { ++p.bad; p.cc.clear(); p.cc_done = false; }   // unrequested
            return;
        }
        if (p.fire) { ++p.idx; pcie_apply(); }
        bool sent = p.idx >= p.n;
        if (sent && (p.cur.op || p.cc_done)) {
            uint32_t value = p.cur.data;
            if (!p.cur.op) {
                if (pcie_check(value)) ++p.reads;
                else { ++p.bad; pcie_error = true; }
            } else {
                ++p.writes;
            }
            p.done.push_back({cyc, p.cur.addr, value, p.cur.op});
            p.active = false;
            p.cc.clear();
            p.cc_done = false;
        } else if (cyc - p.started > timeout) {
            timed_out = true;
            p.active = false;
            pcie_apply();
        }
#endif
    }

    // One clock cycle: inputs for cycle `cyc`, outputs sampled before the rising edge.
    inline void step(uint64_t d, uint8_t c) {
        set_beat(d, c);
        bool bus = axi.busy();
        if (bus) axi_drive();
        if (pcie.busy()) pcie_drive();
#if TW_HAS_UART
        top->uart_rx = uart.next_level();
#endif
#if TW_HAS_CLK
        top->clk = 0;
#endif
        top->eval();
        trace_dump(2 * cyc);
        tw_capture(top.get(), sinks, cyc);
        if (axi.active) axi_sample();
#if TW_HAS_PCIE
        pcie_sample();
#endif
#if TW_HAS_UART
        uart.sample(top->uart_tx);
#endif
#if TW_HAS_CLK
        top->clk = 1;
        top->eval();
        trace_dump(2 * cyc + 1);
#endif
        if (axi.active) axi_after();
#if TW_HAS_PCIE
        pcie_after();
#endif
        ++cyc;
    }

    void run_bus_idle() {
        while (axi.busy() && !timed_out) step(IDLE_D, IDLE_C);
    }

    // ---- FST window (a --trace-fst build): dumps only inside [trace_from, trace_until).
    bool open_trace(const char* path) {
#if VM_TRACE
        tfp.reset(new VerilatedFstC);
        top->trace(tfp.get(), 99);
        tfp->open(path);
        return tfp->isOpen();
#else
        (void)path;
        return false;
#endif
    }
    inline void trace_dump(int64_t half) {
#if VM_TRACE
        if (tfp && cyc >= trace_from && cyc < trace_until)
            tfp->dump((uint64_t)(half - 2 * trace_origin) * HALF_PS);
#else
        (void)half;
#endif
    }
    void close_trace() {
#if VM_TRACE
        if (tfp) tfp->close();
        tfp.reset();
#endif
    }
};

// ---------------------------------------------------------------- batch mode

static bool read_exact(FILE* f, void* p, size_t n) { return fread(p, 1, n, f) == n; }

static void read_script(const char* path, std::vector<Txn> part[3]) {
    FILE* f = fopen(path, "rb");
    if (!f) die("cannot open script");
    char magic[4];
    uint32_t n[3];
    if (!read_exact(f, magic, 4) || memcmp(magic, "TWS1", 4) || !read_exact(f, n, 12))
        die("bad script header");
    for (int k = 0; k < 3; ++k)
        for (uint32_t i = 0; i < n[k]; ++i) {
            int64_t at;
            uint32_t v[3];
            if (!read_exact(f, &at, 8) || !read_exact(f, v, 12)) die("short script");
            part[k].push_back({at, v[0], v[1], v[2]});
        }
    fclose(f);
}

// Sequential reader of one TWB1 beats file (blocks and repeat records); a null path
// reads as an empty file, so a port without input stays idle.
struct BeatReader {
    FILE* f = nullptr;
    std::vector<uint64_t> dv;
    std::vector<uint8_t> cv;
    size_t idx = 0;
    uint64_t rep_n = 0, rep_d = 0;
    uint8_t rep_c = 0;
    bool done = false;

    explicit BeatReader(const char* path) {
        if (!path) { done = true; return; }
        f = fopen(path, "rb");
        if (!f) die("cannot open beats");
        char magic[4];
        if (!read_exact(f, magic, 4) || memcmp(magic, "TWB1", 4)) die("bad beats header");
    }
    ~BeatReader() { if (f) fclose(f); }

    bool next(uint64_t& d, uint8_t& c) {
        for (;;) {
            if (idx < dv.size()) { d = dv[idx]; c = cv[idx]; ++idx; return true; }
            if (rep_n) { --rep_n; d = rep_d; c = rep_c; return true; }
            if (done) return false;
            uint8_t tag;
            uint32_t n;
            if (!read_exact(f, &tag, 1) || tag == 0) { done = true; return false; }
            if (!read_exact(f, &n, 4)) die("short beats record");
            if (tag == 1) {
                dv.resize(n);
                cv.resize(n);
                idx = 0;
                if (!read_exact(f, dv.data(), 8 * (size_t)n) || !read_exact(f, cv.data(), n))
                    die("short beat block");
            } else if (tag == 2) {
                dv.clear();
                idx = 0;
                if (!read_exact(f, &rep_d, 8) || !read_exact(f, &rep_c, 1)) die("short repeat");
                rep_n = n;
            } else {
                die("bad beats tag");
            }
        }
    }
};

static int batch(int argc, char** argv) {
    const char *beats = nullptr, *beats_b = nullptr, *script = nullptr, *out = nullptr;
    const char* trace = nullptr;
    int64_t drain = 64, timeout = 100000, settle = 0, trace_from = 0, trace_cycles = 1000;
    bool progress = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k == "--beats") beats = argv[i + 1];
        else if (k == "--beats-b") beats_b = argv[i + 1];
        else if (k == "--script") script = argv[i + 1];
        else if (k == "--out") out = argv[i + 1];
        else if (k == "--drain") drain = atoll(argv[i + 1]);
        else if (k == "--timeout") timeout = atoll(argv[i + 1]);
        else if (k == "--settle") settle = atoll(argv[i + 1]);
        else if (k == "--progress") progress = atoi(argv[i + 1]) != 0;
        else if (k == "--trace") trace = argv[i + 1];
        else if (k == "--trace-from") trace_from = atoll(argv[i + 1]);
        else if (k == "--trace-cycles") trace_cycles = atoll(argv[i + 1]);
        else die("unknown option");
    }
    if (!beats || !out) die("usage: twsim --beats B [--script S] --out DIR [--drain N]");
    std::vector<Txn> part[3];
    if (script) read_script(script, part);

    Sim sim;
    sim.timeout = timeout;
    if (trace && !sim.open_trace(trace)) die("--trace needs a build with --trace-fst");
    std::string dir = out;
    for (int i = 0; i < TW_NSTREAMS; ++i) {
        std::string p = dir + "/s" + std::to_string(i) + ".bin";
        sim.sinks[i].fp = fopen(p.c_str(), "wb");
        if (!sim.sinks[i].fp) die("cannot create output");
    }
    auto t0 = std::chrono::steady_clock::now();

    // idle cycles after reset before the bus script (a design's reset sweep)
    for (int64_t i = 0; i < settle && !sim.timed_out; ++i) sim.step(IDLE_D, IDLE_C);
    for (auto& t : part[0]) sim.axi.q.push_back({0, t.op, t.addr, t.data});
    sim.run_bus_idle();
    const int64_t cycle0 = sim.cyc;
    for (auto& t : part[1]) sim.axi.q.push_back({cycle0 + t.at, t.op, t.addr, t.data});
    if (trace) {                        // the window is given relative to cycle 0
        sim.trace_origin = cycle0;
        sim.trace_from = cycle0 + trace_from;
        sim.trace_until = sim.trace_from + trace_cycles;
    }

    BeatReader ra(beats), rb(beats_b);
    uint64_t nbeats = 0;
    auto shown = std::chrono::steady_clock::now();
    for (;;) {
        uint64_t da = IDLE_D, db = IDLE_D;
        uint8_t ca = IDLE_C, cb = IDLE_C;
        bool a = ra.next(da, ca), b = rb.next(db, cb);
        if (!a && !b) break;
        sim.set_beat_b(db, cb);
        sim.step(da, ca);
        ++nbeats;
        if (sim.timed_out) break;
        if (progress && (nbeats & 0xFFFF) == 0) {
            auto now = std::chrono::steady_clock::now();
            if (now - shown >= std::chrono::milliseconds(250)) {
                shown = now;
                fprintf(stderr, "progress %" PRIu64 "\n", nbeats);
                fflush(stderr);
            }
        }
    }
    sim.set_beat_b(IDLE_D, IDLE_C);
    sim.run_bus_idle();
    for (int64_t i = 0; i < drain; ++i) sim.step(IDLE_D, IDLE_C);
    for (auto& t : part[2]) sim.axi.q.push_back({0, t.op, t.addr, t.data});
    sim.run_bus_idle();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sim.close_trace();

    for (int i = 0; i < TW_NSTREAMS; ++i) {
        sim.sinks[i].flush();
        fclose(sim.sinks[i].fp);
    }
    FILE* rf = fopen((dir + "/reads.bin").c_str(), "wb");
    for (auto& d : sim.axi.done) {
        fwrite(&d.cycle, 8, 1, rf);
        uint32_t v[3] = {d.addr, d.value, d.op};
        fwrite(v, 4, 3, rf);
    }
    fclose(rf);
    FILE* sf = fopen((dir + "/stats.txt").c_str(), "w");
    fprintf(sf, "cycle0 %" PRId64 "\ncycles %" PRId64 "\nbeats %" PRIu64 "\nseconds %.6f\ntimeout %d\n",
            cycle0, sim.cyc, nbeats, secs, sim.timed_out ? 1 : 0);
    fclose(sf);
    if (sim.timed_out) {
        fprintf(stderr, "twsim: AXI4-Lite transaction timed out\n");
        return 3;
    }
    return 0;
}

// ---------------------------------------------------------------- server mode

struct Conn {
    int fd;
    bool recv(void* p, size_t n) {
        uint8_t* b = (uint8_t*)p;
        while (n) {
            ssize_t k = ::read(fd, b, n);
            if (k <= 0) return false;
            b += k;
            n -= (size_t)k;
        }
        return true;
    }
    std::vector<uint8_t> out;
    template <class T> void put(T v) { put_raw(&v, sizeof v); }
    void put_raw(const void* p, size_t n) {
        out.insert(out.end(), (const uint8_t*)p, (const uint8_t*)p + n);
    }
    bool send() {
        size_t off = 0;
        while (off < out.size()) {
            ssize_t k = ::write(fd, out.data() + off, out.size() - off);
            if (k <= 0) return false;
            off += (size_t)k;
        }
        out.clear();
        return true;
    }
};

struct Server {
    Sim sim;
    std::deque<std::pair<uint64_t, uint8_t>> beats;

    void tick() {
        if (beats.empty()) {
            sim.step(IDLE_D, IDLE_C);
        } else {
            auto b = beats.front();
            beats.pop_front();
            sim.step(b.first, b.second);
        }
    }
    bool via_pcie = false;             // register requests as TLPs ('v')

    // Run one bus transaction to completion; false on timeout or a bad completion.
    bool txn(uint32_t op, uint32_t addr, uint32_t data, Done& d) {
        if (via_pcie) {
            sim.pcie.done.clear();
            sim.pcie.q.push_back({0, op, addr, data});
            while (sim.pcie.busy() && !sim.timed_out) tick();
            bool bad = sim.pcie_error;
            sim.pcie_error = false;
            if (sim.timed_out || bad) { sim.timed_out = false; return false; }
            d = sim.pcie.done.back();
            return true;
        }
        sim.axi.done.clear();
        sim.axi.q.push_back({0, op, addr, data});
        while (sim.axi.busy() && !sim.timed_out) tick();
        if (sim.timed_out) { sim.timed_out = false; return false; }
        d = sim.axi.done.back();
        return true;
    }

    // Returns false when the session ends ('q' or EOF); sets quit on 'q'.
    bool serve_one(Conn& c, bool& quit) {
        uint8_t op;
        if (!c.recv(&op, 1)) return false;
        uint32_t a[2];
        Done d{};
        switch (op) {
        case 'r':
            if (!c.recv(a, 4)) return false;
            if (!txn(0, a[0], 0, d)) { c.put<uint8_t>(1); break; }
            c.put<uint8_t>(0); c.put<uint32_t>(d.value); c.put<int64_t>(d.cycle);
            break;
        case 'w':
            if (!c.recv(a, 8)) return false;
            if (!txn(1, a[0], a[1], d)) { c.put<uint8_t>(1); break; }
            c.put<uint8_t>(0); c.put<int64_t>(d.cycle);
            break;
        case 'b': {  // burst read: addr, count -> count words (addr += 4 each)
            if (!c.recv(a, 8)) return false;
            std::vector<uint32_t> v;
            bool ok = true;
            for (uint32_t i = 0; i < a[1] && ok; ++i) {
                ok = txn(0, a[0] + 4 * i, 0, d);
                v.push_back(d.value);
            }
            c.put<uint8_t>(ok ? 0 : 1);
            if (ok) c.put_raw(v.data(), 4 * v.size());
            break;
        }
        case 'B': {  // burst write: addr, count, count words
            if (!c.recv(a, 8)) return false;
            std::vector<uint32_t> v(a[1]);
            if (a[1] && !c.recv(v.data(), 4 * (size_t)a[1])) return false;
            bool ok = true;
            for (uint32_t i = 0; i < a[1] && ok; ++i) ok = txn(1, a[0] + 4 * i, v[i], d);
            c.put<uint8_t>(ok ? 0 : 1);
            break;
        }
        case 'p': {  // push beats: n, n*u64 d, n*u8 c
            uint32_t n;
            if (!c.recv(&n, 4)) return false;
            std::vector<uint64_t> dv(n);
            std::vector<uint8_t> cv(n);
            if (n && (!c.recv(dv.data(), 8 * (size_t)n) || !c.recv(cv.data(), n))) return false;
            for (uint32_t i = 0; i < n; ++i) beats.emplace_back(dv[i], cv[i]);
            c.put<uint8_t>(0); c.put<uint64_t>(beats.size());
            break;
        }
        case 'n': {  // run n cycles
            uint64_t n;
            if (!c.recv(&n, 8)) return false;
            for (uint64_t i = 0; i < n; ++i) tick();
            c.put<uint8_t>(0); c.put<int64_t>(sim.cyc);
            break;
        }
        case 'f':  // fetch pending output beats of every stream
            c.put<uint8_t>(0);
            c.put<uint32_t>(TW_NSTREAMS);
            for (int i = 0; i < TW_NSTREAMS; ++i) {
                c.put<uint32_t>((uint32_t)(sim.sinks[i].buf.size() / (8 + TW_STREAM_BYTES[i])));
                c.put_raw(sim.sinks[i].buf.data(), sim.sinks[i].buf.size());
                sim.sinks[i].buf.clear();
            }
            break;
        case 'c':
            c.put<uint8_t>(0); c.put<int64_t>(sim.cyc); c.put<uint64_t>(beats.size());
            break;
        case 'u': {  // queue UART bytes for uart_rx: n, n bytes -> u64 queued
            uint32_t n;
            if (!c.recv(&n, 4)) return false;
            std::vector<uint8_t> v(n);
            if (n && !c.recv(v.data(), n)) return false;
            if (!TW_HAS_UART) { c.put<uint8_t>(2); break; }
            sim.uart.txq.insert(sim.uart.txq.end(), v.begin(), v.end());
            c.put<uint8_t>(0); c.put<uint64_t>(sim.uart.txq.size());
            break;
        }
        case 'U': {  // bytes received from uart_tx since the last 'U': u32 n, n bytes
            if (!TW_HAS_UART) { c.put<uint8_t>(2); break; }
            c.put<uint8_t>(0);
            c.put<uint32_t>((uint32_t)sim.uart.rx.size());
            c.put_raw(sim.uart.rx.data(), sim.uart.rx.size());
            sim.uart.rx.clear();
            break;
        }
        case 'v': {  // register route: u8 0 = AXI4-Lite, 1 = PCIe
            uint8_t r;
            if (!c.recv(&r, 1)) return false;
            if (r > 1 || (r == 1 && !TW_HAS_PCIE) || (r == 0 && !TW_HAS_AXIL)) { c.put<uint8_t>(2); break; }
            via_pcie = r == 1;
            c.put<uint8_t>(0);
            break;
        }
        case 'i': {  // link statistics
            c.put<uint8_t>(0);
            c.put<uint32_t>(via_pcie ? 1 : 0);
            c.put<uint64_t>(sim.pcie.reads); c.put<uint64_t>(sim.pcie.writes);
            c.put<uint64_t>(sim.pcie.bad);
            c.put<uint32_t>(sim.pcie.last_requester); c.put<uint32_t>(sim.pcie.last_tag);
            c.put<uint32_t>(sim.pcie.last_status);
            c.put<uint64_t>(sim.uart.bytes_in); c.put<uint64_t>(sim.uart.bytes_out);
            c.put<uint64_t>(sim.uart.framing_errors);
            c.put<uint64_t>(sim.uart.txq.size());
            break;
        }
        case 'q':
            c.put<uint8_t>(0);
            c.send();
            quit = true;
            return false;
        default:
            c.put<uint8_t>(2);
        }
        return c.send();
    }
};

static int serve(const char* where) {
    Server srv;
    bool quit = false;
    bool is_fd = *where && strspn(where, "0123456789") == strlen(where);
    if (is_fd) {
        Conn c{atoi(where)};
        while (srv.serve_one(c, quit)) {}
        return 0;
    }
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (strlen(where) >= sizeof sa.sun_path) die("socket path too long");
    strcpy(sa.sun_path, where);
    unlink(where);
    if (bind(ls, (sockaddr*)&sa, sizeof sa) || listen(ls, 1)) die("cannot listen");
    fprintf(stdout, "listening %s\n", where);
    fflush(stdout);
    while (!quit) {
        int fd = accept(ls, nullptr, nullptr);
        if (fd < 0) break;
        Conn c{fd};
        while (srv.serve_one(c, quit)) {}
        close(fd);
    }
    close(ls);
    unlink(where);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--serve") return serve(argv[2]);
    return batch(argc, argv);
}
