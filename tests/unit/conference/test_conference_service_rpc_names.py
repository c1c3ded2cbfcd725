"""Every rpc of kim.conference.v1.ConferenceService is found by its name: one method, named
after the rpc in snake_case, of exactly one application service (services/conference/
application.py lists them), and the servicer calls that method (api.py)."""

from __future__ import annotations

import dataclasses
import inspect
import re

from kim.conference.v1 import conference_pb2
from services.conference.api import ConferenceServicer
from services.conference.composition import ConferenceServices

RPCS = sorted(conference_pb2.DESCRIPTOR.services_by_name["ConferenceService"].methods_by_name)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_each_rpc_is_one_method_of_one_application_service_and_the_servicer_calls_it() -> None:
    classes = inspect.get_annotations(ConferenceServices, eval_str=True)
    assert len(classes) == len(dataclasses.fields(ConferenceServices)) == 8
    for rpc in RPCS:
        owners = [area for area, cls in classes.items() if callable(getattr(cls, snake(rpc), None))]
        assert len(owners) == 1, (rpc, owners)
        source = inspect.getsource(getattr(ConferenceServicer, rpc))
        assert f"self.{owners[0]}.{snake(rpc)}(" in source, rpc
