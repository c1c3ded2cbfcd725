"""The conference service's domain core: Fallkonferenzen, Lenkungsgruppe, Beschlussverfolgung,
Zielgruppen and Projektgruppen with their barrier register.

Imports only the standard library and `kimnetz.errors`; no grpc, nameko or mongoengine may enter.
Aggregates collect their domain events in `events`; whoever saves an aggregate (the
repository) records them in the same write and clears the list.
"""
