/* tickwire register access library.
 *
 * A thin layer over the memory-mapped BAR described by tickwire_regs.h (generated
 * from rtl/regmap; offsets are byte offsets). It exists to get three things right
 * once: refusing a bitstream built from another register map, reading 64-bit
 * registers without tearing (LO first: that read latches HI), and writing wide
 * controls atomically (LO stages, HI commits).
 *
 * The default bus is a volatile BAR pointer. A device can instead be attached
 * through a tw_bus (read/write callbacks) so the same code drives a UART bridge,
 * a simulator, or a test fake.
 */
#ifndef TICKWIRE_H
#define TICKWIRE_H

#include <stdint.h>

#include "tickwire_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tw_err {
    TW_OK = 0,
    TW_ERR_ARG = -1,      /* NULL device or base */
    TW_ERR_MAGIC = -2,    /* id.magic is not TW_MAP_MAGIC: not tickwire, or bus dead */
    TW_ERR_VERSION = -3,  /* id.map_version differs from TW_MAP_VERSION */
    TW_ERR_HASH = -4,     /* id.map_hash differs from TW_MAP_HASH: rebuild software */
};

/* Callbacks for non-MMIO buses; offsets are byte offsets, 32-bit aligned. */
typedef struct tw_bus {
    uint32_t (*read32)(void *ctx, uint32_t offset);
    void (*write32)(void *ctx, uint32_t offset, uint32_t value);
} tw_bus;

typedef struct tw_dev {
    volatile uint32_t *base;  /* MMIO BAR, or NULL when attached through a bus */
    const tw_bus *bus;
    void *ctx;
    uint32_t map_version;     /* read from the ID block at attach */
    uint32_t map_hash;
} tw_dev;

/* Attach to a mapped BAR and check the ID block. Returns TW_OK or a tw_err. */
int tw_attach(tw_dev *dev, volatile void *base);
/* Attach through bus callbacks (same ID check). */
int tw_attach_bus(tw_dev *dev, const tw_bus *bus, void *ctx);
/* Human-readable text for a tw_err code. */
const char *tw_strerror(int err);

uint32_t tw_read32(const tw_dev *dev, uint32_t offset);
void tw_write32(const tw_dev *dev, uint32_t offset, uint32_t value);

/* Tear-free 64-bit read: LO (latches HI in the bank), then HI. */
uint64_t tw_read64(const tw_dev *dev, uint32_t offset);
/* Atomic wide-control write: LO (staged), then HI (commits both halves). */
void tw_write64(const tw_dev *dev, uint32_t offset, uint64_t value);

/* A 64-bit event counter (TW_<BLOCK>_<NAME> offset of a counter register). */
static inline uint64_t tw_counter(const tw_dev *dev, uint32_t offset)
{
    return tw_read64(dev, offset);
}

/* Hardware clock snapshot: pulse clock.cmd SNAPSHOT (TW_CLOCK_CMD_SNAPSHOT, generated
   in tickwire_regs.h), then read the latched time. */

typedef struct tw_time {
    uint64_t sec;  /* 48 bits */
    uint32_t ns;   /* 0..999999999 */
} tw_time;

void tw_clock_snapshot(const tw_dev *dev, tw_time *t);

#ifdef __cplusplus
}
#endif

#endif /* TICKWIRE_H */
