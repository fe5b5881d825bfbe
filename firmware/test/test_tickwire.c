/* Host test for libtickwire: a fake BAR that behaves like the CSR bank.
 *
 * The fake reproduces the bank's wide-register rules (reading LO latches HI into
 * one shadow; writing LO of a wide control stages it, writing HI commits), keeps a
 * 64-bit counter that moves on every bus access (so a torn read would show), and
 * logs every access so the test can check the order the library issues them in.
 */
#include <stdio.h>
#include <string.h>

#include "tickwire.h"

#define WORDS (0x10000u / 4u)
#define LOG_MAX 64

struct access { char op; uint32_t off; uint32_t val; };

struct fake {
    uint32_t mem[WORDS];
    uint32_t shadow, stage;
    uint64_t ticking;             /* CNT_TICKING: +1 after every access */
    uint64_t now_sec; uint32_t now_ns;  /* clock: ns +1 after every access */
    struct access log[LOG_MAX];
    int nlog;
};

static struct fake F;

/* Counters: the library treats any offset alike, so the test uses its own two
 * (free words past the map's blocks) instead of block registers that still move. */
#define CNT_TICKING 0xF000u
#define CNT_STATIC  0xF008u

/* Wide (two-word) registers the fake models; kind 'r' read-only, 'c' control. */
static const struct { uint32_t off; char kind; } WIDE[] = {
    { CNT_TICKING, 'r' }, { CNT_STATIC, 'r' }, { TW_CLOCK_SNAP_SEC, 'r' },
    { TW_CLOCK_PERIOD, 'c' }, { TW_CLOCK_SET_SEC, 'c' },
};

static int wide_lo(uint32_t off, char *kind)
{
    for (size_t i = 0; i < sizeof WIDE / sizeof WIDE[0]; i++)
        if (WIDE[i].off == off) { *kind = WIDE[i].kind; return 1; }
    return 0;
}

static int wide_hi(uint32_t off, char *kind)
{
    return off >= 4 && wide_lo(off - 4, kind);
}

static void logit(char op, uint32_t off, uint32_t val)
{
    if (F.nlog < LOG_MAX)
        F.log[F.nlog++] = (struct access){ op, off, val };
}

static void advance(void)
{
    F.ticking++;
    F.now_ns++;
}

static uint64_t word64(uint32_t off)
{
    if (off == CNT_TICKING)
        return F.ticking;
    return (uint64_t)F.mem[off / 4 + 1] << 32 | F.mem[off / 4];
}

static uint32_t fake_read(void *ctx, uint32_t off)
{
    (void)ctx;
    char kind;
    uint32_t v;
    if (wide_lo(off, &kind)) {
        uint64_t w = word64(off);
        v = (uint32_t)w;
        F.shadow = (uint32_t)(w >> 32);
    } else if (wide_hi(off, &kind)) {
        v = F.shadow;
    } else {
        v = F.mem[off / 4];
    }
    logit('R', off, v);
    advance();
    return v;
}

static void fake_write(void *ctx, uint32_t off, uint32_t v)
{
    (void)ctx;
    char kind;
    logit('W', off, v);
    if (wide_lo(off, &kind) && kind == 'c') {
        F.stage = v;
    } else if (wide_hi(off, &kind) && kind == 'c') {
        F.mem[(off - 4) / 4] = F.stage;
        F.mem[off / 4] = v;
    } else if (off == TW_CLOCK_CMD) {
        if (v & TW_CLOCK_CMD_SNAPSHOT) {
            F.mem[TW_CLOCK_SNAP_SEC / 4] = (uint32_t)F.now_sec;
            F.mem[TW_CLOCK_SNAP_SEC / 4 + 1] = (uint32_t)(F.now_sec >> 32);
            F.mem[TW_CLOCK_SNAP_NS / 4] = F.now_ns;
        }
    } else {
        F.mem[off / 4] = v;
    }
    advance();
}

static const tw_bus FAKE_BUS = { fake_read, fake_write };

static void fake_reset(uint32_t magic, uint32_t version, uint32_t hash)
{
    memset(&F, 0, sizeof F);
    F.mem[TW_ID_MAGIC / 4] = magic;
    F.mem[TW_ID_MAP_VERSION / 4] = version;
    F.mem[TW_ID_MAP_HASH / 4] = hash;
}

static int failures, passes;

#define CHECK(cond) do { if (!(cond)) { \
    printf("FAIL %s line %d: %s\n", __func__, __LINE__, #cond); failures++; return; } } while (0)

static void attached(tw_dev *dev)
{
    fake_reset(TW_MAP_MAGIC, TW_MAP_VERSION, TW_MAP_HASH);
    int rc = tw_attach_bus(dev, &FAKE_BUS, NULL);
    if (rc != TW_OK)
        printf("FAIL attach in setup: %s\n", tw_strerror(rc));
    F.nlog = 0;
}

static void attach_accepts_matching_id(void)
{
    tw_dev dev;
    fake_reset(TW_MAP_MAGIC, TW_MAP_VERSION, TW_MAP_HASH);
    CHECK(tw_attach_bus(&dev, &FAKE_BUS, NULL) == TW_OK);
    CHECK(dev.map_hash == TW_MAP_HASH);
    CHECK(dev.map_version == TW_MAP_VERSION);
}

static void attach_rejects_wrong_hash(void)
{
    tw_dev dev;
    fake_reset(TW_MAP_MAGIC, TW_MAP_VERSION, TW_MAP_HASH ^ 0x00010000u);
    CHECK(tw_attach_bus(&dev, &FAKE_BUS, NULL) == TW_ERR_HASH);
    CHECK(dev.map_hash == (TW_MAP_HASH ^ 0x00010000u));
}

static void attach_rejects_wrong_magic(void)
{
    tw_dev dev;
    fake_reset(0xFFFFFFFFu, TW_MAP_VERSION, TW_MAP_HASH);  /* a dead PCIe read */
    CHECK(tw_attach_bus(&dev, &FAKE_BUS, NULL) == TW_ERR_MAGIC);
}

static void attach_rejects_wrong_version(void)
{
    tw_dev dev;
    fake_reset(TW_MAP_MAGIC, TW_MAP_VERSION + 1, TW_MAP_HASH);
    CHECK(tw_attach_bus(&dev, &FAKE_BUS, NULL) == TW_ERR_VERSION);
}

static void attach_rejects_null(void)
{
    tw_dev dev;
    CHECK(tw_attach(&dev, NULL) == TW_ERR_ARG);
    CHECK(tw_attach(NULL, F.mem) == TW_ERR_ARG);
    CHECK(tw_attach_bus(&dev, NULL, NULL) == TW_ERR_ARG);
}

static void read64_is_lo_then_hi_and_tear_free(void)
{
    tw_dev dev;
    attached(&dev);
    F.ticking = 0x1FFFFFFFFull;   /* the LO read carries it into 0x2_00000000 */
    uint64_t v = tw_read64(&dev, CNT_TICKING);
    CHECK(F.nlog == 2);
    CHECK(F.log[0].op == 'R' && F.log[0].off == CNT_TICKING);
    CHECK(F.log[1].op == 'R' && F.log[1].off == CNT_TICKING + 4);
    CHECK(F.ticking == 0x200000001ull);     /* it did move during the read */
    CHECK(v == 0x1FFFFFFFFull);             /* and the value is one instant's */
}

static void counter_reads_64_bits(void)
{
    tw_dev dev;
    attached(&dev);
    F.mem[CNT_STATIC / 4] = 0x00000003u;
    F.mem[CNT_STATIC / 4 + 1] = 0x00000005u;
    CHECK(tw_counter(&dev, CNT_STATIC) == 0x500000003ull);
}

static void write64_is_lo_stage_then_hi_commit(void)
{
    tw_dev dev;
    attached(&dev);
    tw_write64(&dev, TW_CLOCK_PERIOD, 0x0712345678ull);
    CHECK(F.nlog == 2);
    CHECK(F.log[0].op == 'W' && F.log[0].off == TW_CLOCK_PERIOD && F.log[0].val == 0x12345678u);
    CHECK(F.log[1].op == 'W' && F.log[1].off == TW_CLOCK_PERIOD + 4 && F.log[1].val == 0x07u);
    CHECK(tw_read64(&dev, TW_CLOCK_PERIOD) == 0x0712345678ull);
    /* A LO write alone only stages: the register keeps its committed value. */
    tw_write32(&dev, TW_CLOCK_PERIOD, 0xAAAAAAAAu);
    CHECK(tw_read64(&dev, TW_CLOCK_PERIOD) == 0x0712345678ull);
}

static void clock_snapshot_latches_then_reads(void)
{
    tw_dev dev;
    attached(&dev);
    F.now_sec = 0x123456789Aull;
    F.now_ns = 999999990u;
    tw_time t;
    tw_clock_snapshot(&dev, &t);
    CHECK(F.log[0].op == 'W' && F.log[0].off == TW_CLOCK_CMD &&
          F.log[0].val == TW_CLOCK_CMD_SNAPSHOT);
    CHECK(F.log[1].op == 'R' && F.log[1].off == TW_CLOCK_SNAP_SEC);
    CHECK(F.log[2].op == 'R' && F.log[2].off == TW_CLOCK_SNAP_SEC + 4);
    CHECK(F.log[3].op == 'R' && F.log[3].off == TW_CLOCK_SNAP_NS);
    CHECK(t.sec == 0x123456789Aull);
    CHECK(t.ns == 999999990u);          /* the instant of the command, not later */
}

static uint32_t BAR[WORDS];

static void mmio_bar_offsets_are_bytes(void)
{
    tw_dev dev;
    memset(BAR, 0, sizeof BAR);
    BAR[TW_ID_MAGIC / 4] = TW_MAP_MAGIC;
    BAR[TW_ID_MAP_VERSION / 4] = TW_MAP_VERSION;
    BAR[TW_ID_MAP_HASH / 4] = TW_MAP_HASH;
    CHECK(tw_attach(&dev, BAR) == TW_OK);
    tw_write32(&dev, TW_ID_SCRATCH, 0xDEADBEEFu);
    CHECK(BAR[TW_ID_SCRATCH / 4] == 0xDEADBEEFu);
    CHECK(tw_read32(&dev, TW_ID_SCRATCH) == 0xDEADBEEFu);
    tw_write64(&dev, TW_CLOCK_SET_SEC, 0xBEEF00C0FFEEull);
    CHECK(BAR[TW_CLOCK_SET_SEC / 4] == 0x00C0FFEEu && BAR[TW_CLOCK_SET_SEC / 4 + 1] == 0xBEEFu);
    BAR[CNT_STATIC / 4] = 7u;
    BAR[CNT_STATIC / 4 + 1] = 1u;
    CHECK(tw_counter(&dev, CNT_STATIC) == 0x100000007ull);
    BAR[TW_ID_MAP_HASH / 4] = TW_MAP_HASH + 1;
    CHECK(tw_attach(&dev, BAR) == TW_ERR_HASH);
}

#define RUN(fn) do { int before = failures; fn(); \
    if (failures == before) { passes++; printf("ok %s\n", #fn); } } while (0)

int main(void)
{
    printf("map magic 0x%08X version %u hash 0x%08X\n", TW_MAP_MAGIC, TW_MAP_VERSION, TW_MAP_HASH);
    RUN(attach_accepts_matching_id);
    RUN(attach_rejects_wrong_hash);
    RUN(attach_rejects_wrong_magic);
    RUN(attach_rejects_wrong_version);
    RUN(attach_rejects_null);
    RUN(read64_is_lo_then_hi_and_tear_free);
    RUN(counter_reads_64_bits);
    RUN(write64_is_lo_stage_then_hi_commit);
    RUN(clock_snapshot_latches_then_reads);
    RUN(mmio_bar_offsets_are_bytes);
    printf("summary: %d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
