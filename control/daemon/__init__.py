"""The control-plane daemon (`tickwire serve`): owns the card, serves the gRPC API."""
