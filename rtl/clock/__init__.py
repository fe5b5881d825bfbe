from .hw_clock import HwClock  # noqa
