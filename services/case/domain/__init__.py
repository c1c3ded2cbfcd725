"""The case service's domain core: Fall, person, consent, Zielgruppen, policy and audit chain.

Framework-free by rule: this package imports only the standard library and `kimnetz.errors`, so
the api process (grpcio threads), the worker (nameko/eventlet) and the unit tests share it
unchanged. Adapters (repository, gRPC servicer, event handlers) live one level up.
"""
