"""`model`: the in-process ModelCard (tickwire/model/card.py) behind the Transport API.

For the daemon's and CLI's tests and for demos without hardware or a simulator.
"""
from .base import Transport


class ModelTransport(Transport):
    name = "model"

    def __init__(self, card=None, realtime=True):
        super().__init__()
        from tickwire.model.card import ModelCard
        self.card = card if card is not None else ModelCard(realtime=realtime)
        self.size = max(Transport.size, self.card.extent)   # a scaled card maps more

    def _read_burst(self, addr, n):
        return self.card.read_burst(addr, n)

    def _write_burst(self, addr, words):
        self.card.write_burst(addr, words)

    def _read32(self, addr):
        return self.card.read32(addr)

    def _write32(self, addr, value):
        self.card.write32(addr, value)
