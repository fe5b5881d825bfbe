// tickwire native Verilator harness: runs the clock in C++ so long replays go at
// millions of cycles/s instead of cocotb's ~100k. The design-specific glue (which
// ports exist, stream widths) is generated into tw_ports.h by tools/harness/ports.py;
// this file is the same for every design. File formats: protocol.py; server: client.py.
//
//   twsim --beats B --script S --out DIR [--drain N] [--timeout N]   batch replay
//   twsim --serve FD|PATH                                            socket server
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

typedef Vtw Top;

static const uint64_t IDLE_D = 0x0707070707070707ULL;
static const uint8_t IDLE_C = 0xFF;
static const int RESET_CYCLES = 4;

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

struct Sim {
    VerilatedContext ctx;
    std::unique_ptr<Top> top;
    Sink sinks[TW_NSTREAMS > 0 ? TW_NSTREAMS : 1];
    Axi axi;
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

    // One clock cycle: inputs for cycle `cyc`, outputs sampled before the rising edge.
    inline void step(uint64_t d, uint8_t c) {
        set_beat(d, c);
        bool bus = axi.busy();
        if (bus) axi_drive();
#if TW_HAS_CLK
        top->clk = 0;
#endif
        top->eval();
        tw_capture(top.get(), sinks, cyc);
        if (axi.active) axi_sample();
#if TW_HAS_CLK
        top->clk = 1;
        top->eval();
#endif
        if (axi.active) axi_after();
        ++cyc;
    }

    void run_bus_idle() {
        while (axi.busy() && !timed_out) step(IDLE_D, IDLE_C);
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
    int64_t drain = 64, timeout = 100000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k == "--beats") beats = argv[i + 1];
        else if (k == "--beats-b") beats_b = argv[i + 1];
        else if (k == "--script") script = argv[i + 1];
        else if (k == "--out") out = argv[i + 1];
        else if (k == "--drain") drain = atoll(argv[i + 1]);
        else if (k == "--timeout") timeout = atoll(argv[i + 1]);
        else die("unknown option");
    }
    if (!beats || !out) die("usage: twsim --beats B [--script S] --out DIR [--drain N]");
    std::vector<Txn> part[3];
    if (script) read_script(script, part);

    Sim sim;
    sim.timeout = timeout;
    std::string dir = out;
    for (int i = 0; i < TW_NSTREAMS; ++i) {
        std::string p = dir + "/s" + std::to_string(i) + ".bin";
        sim.sinks[i].fp = fopen(p.c_str(), "wb");
        if (!sim.sinks[i].fp) die("cannot create output");
    }
    auto t0 = std::chrono::steady_clock::now();

    for (auto& t : part[0]) sim.axi.q.push_back({0, t.op, t.addr, t.data});
    sim.run_bus_idle();
    const int64_t cycle0 = sim.cyc;
    for (auto& t : part[1]) sim.axi.q.push_back({cycle0 + t.at, t.op, t.addr, t.data});

    BeatReader ra(beats), rb(beats_b);
    uint64_t nbeats = 0;
    for (;;) {
        uint64_t da = IDLE_D, db = IDLE_D;
        uint8_t ca = IDLE_C, cb = IDLE_C;
        bool a = ra.next(da, ca), b = rb.next(db, cb);
        if (!a && !b) break;
        sim.set_beat_b(db, cb);
        sim.step(da, ca);
        ++nbeats;
        if (sim.timed_out) break;
    }
    sim.set_beat_b(IDLE_D, IDLE_C);
    sim.run_bus_idle();
    for (int64_t i = 0; i < drain; ++i) sim.step(IDLE_D, IDLE_C);
    for (auto& t : part[2]) sim.axi.q.push_back({0, t.op, t.addr, t.data});
    sim.run_bus_idle();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

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
    // Run one bus transaction to completion; false on timeout.
    bool txn(uint32_t op, uint32_t addr, uint32_t data, Done& d) {
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
