"""Hand-written in-memory fakes of the services' repository ports, for unit tests (one module per
service; each behaves like its mongoengine adapter, pinned down by the service's contract test)."""
