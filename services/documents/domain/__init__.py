"""The documents service's domain core: what a Weiterleitungsvertrag and a Drucksache contain, how
their money is computed and how their input is checked.

Framework-free on purpose (no grpc, nameko, kombu, mongoengine): the command line, the gRPC api and
the worker all call it, and its tests run in milliseconds. pydantic parses the input; Babel gives
the German formats.
"""
