"""What every service needs and nothing service-specific: settings, logging, MongoDB, events with
outbox and relay, the gRPC server bootstrap, token validation and the nameko worker glue.

Imports no service. Services import from here; the domain cores import only `kimnetz.errors`.
"""
