"""ITCH 5.0 message decoder."""
from .decoder import ItchDecoder, MSG_LENGTH

__all__ = ["ItchDecoder", "MSG_LENGTH"]
