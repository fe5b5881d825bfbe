/* tickwire register access library (see tickwire.h). */
#include "tickwire.h"

#include <stddef.h>

uint32_t tw_read32(const tw_dev *dev, uint32_t offset)
{
    if (dev->bus)
        return dev->bus->read32(dev->ctx, offset);
    return dev->base[offset / 4u];
}

void tw_write32(const tw_dev *dev, uint32_t offset, uint32_t value)
{
    if (dev->bus)
        dev->bus->write32(dev->ctx, offset, value);
    else
        dev->base[offset / 4u] = value;
}

uint64_t tw_read64(const tw_dev *dev, uint32_t offset)
{
    /* Two separate statements: the LO access must be issued before the HI one. */
    uint64_t lo = tw_read32(dev, offset);
    uint64_t hi = tw_read32(dev, offset + 4u);
    return hi << 32 | lo;
}

void tw_write64(const tw_dev *dev, uint32_t offset, uint64_t value)
{
    tw_write32(dev, offset, (uint32_t)value);
    tw_write32(dev, offset + 4u, (uint32_t)(value >> 32));
}

static int check_id(tw_dev *dev)
{
    if (tw_read32(dev, TW_ID_MAGIC) != TW_MAP_MAGIC)
        return TW_ERR_MAGIC;
    dev->map_version = tw_read32(dev, TW_ID_MAP_VERSION);
    dev->map_hash = tw_read32(dev, TW_ID_MAP_HASH);
    if (dev->map_version != TW_MAP_VERSION)
        return TW_ERR_VERSION;
    if (dev->map_hash != TW_MAP_HASH)
        return TW_ERR_HASH;
    return TW_OK;
}

int tw_attach(tw_dev *dev, volatile void *base)
{
    if (!dev || !base)
        return TW_ERR_ARG;
    dev->base = (volatile uint32_t *)base;
    dev->bus = NULL;
    dev->ctx = NULL;
    dev->map_version = dev->map_hash = 0;
    return check_id(dev);
}

int tw_attach_bus(tw_dev *dev, const tw_bus *bus, void *ctx)
{
    if (!dev || !bus || !bus->read32 || !bus->write32)
        return TW_ERR_ARG;
    dev->base = NULL;
    dev->bus = bus;
    dev->ctx = ctx;
    dev->map_version = dev->map_hash = 0;
    return check_id(dev);
}

const char *tw_strerror(int err)
{
    switch (err) {
    case TW_OK: return "ok";
    case TW_ERR_ARG: return "bad argument";
    case TW_ERR_MAGIC: return "id.magic mismatch (not a tickwire device, or bus not responding)";
    case TW_ERR_VERSION: return "id.map_version mismatch";
    case TW_ERR_HASH: return "id.map_hash mismatch (software built for another register map)";
    default: return "unknown error";
    }
}

void tw_clock_snapshot(const tw_dev *dev, tw_time *t)
{
    tw_write32(dev, TW_CLOCK_CMD, TW_CLOCK_CMD_SNAPSHOT);
    t->sec = tw_read64(dev, TW_CLOCK_SNAP_SEC) & 0xFFFFFFFFFFFFull;
    t->ns = tw_read32(dev, TW_CLOCK_SNAP_NS);
}
