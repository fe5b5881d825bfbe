"""PCIe BAR0 completer endpoint for the UltraScale+ integrated block (endpoint.py)."""
