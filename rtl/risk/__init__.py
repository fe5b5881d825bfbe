"""Pre-trade risk gate (issue #4): RiskGate; its registers and windows in regs.py."""
from .gate import RiskGate  # noqa: F401
