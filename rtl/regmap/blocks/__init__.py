"""One module per gateware block; each defines BLOCK (its base, docs and registers)."""
