"""Generated gRPC stubs of control/proto/tickwire.proto (regenerate: docs/control.md)."""
