"""Pre-trade risk gate (issue #4): RiskGate and its CSR-window wiring."""
from .gate import RiskGate, WindowSignature, wire_windows  # noqa: F401
