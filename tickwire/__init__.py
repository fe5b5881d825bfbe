"""tickwire: FPGA-offloaded market-data feed handler.

Subpackages: tickwire.rtl (Amaranth gateware), tickwire.model (pure-Python reference
models written from the specs), tickwire.control (control plane), tickwire.tools
(replay, generators, synthesis and report scripts).
"""
__version__ = "0.1.0"
