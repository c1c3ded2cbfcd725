"""The consuming wrapper's decisions (kimnetz.runtime.consume): which failures pass, the back-off,
and that every handler of every worker goes through it."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from mongoengine import OperationError
from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError

from kimnetz.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
    UntrustedEvent,
    VersionConflict,
)
from kimnetz.runtime import events
from kimnetz.runtime.consume import (
    DeadLetterError,
    ReliableEventHandler,
    RetryLater,
    RetryPolicy,
    is_transient,
    reason_of,
)

WORKERS = ["kimnetz.runtime.node_worker:ProbeResponder", "services.case.worker:CaseWorker",
           "services.conference.worker:ConferenceWorker", "services.documents.worker:DocumentsWorker",
           "services.identity.worker:IdentityWorker"]


def raised_from(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as error:
            raise outer from error
    except Exception as chained:
        return chained


@pytest.mark.parametrize("error", [
    ServerSelectionTimeoutError("no servers"), AutoReconnect("reset"), VersionConflict("bitte neu laden"),
    Unavailable("Keycloak"), ConnectionRefusedError(), TimeoutError(), RetryLater("peer busy"),
    raised_from(OperationError("Could not save document"), AutoReconnect("gone")),
    raised_from(RuntimeError("wrapped"), ServerSelectionTimeoutError("no servers")),
])
def test_passing_failures_are_retried(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    UntrustedEvent("sender-not-allowed", "Absender nicht geprüft"), NotFound("kein Fall"),
    FailedPrecondition("falscher Stand"),
    InvalidArgument([]), PermissionDenied("nein"), DeadLetterError("nie"), ValueError("payload"),
    KeyError("HANDLUNGSFELD_X"), AssertionError(),
    raised_from(FailedPrecondition("falscher Stand"), AutoReconnect("while loading")),
])
def test_refusals_and_bugs_are_permanent(error: Exception) -> None:
    assert not is_transient(error)


def test_an_untrusted_event_is_kept_with_its_reason_code_and_german_message() -> None:
    error = UntrustedEvent("bad-signature", "Die Signatur passt nicht zum Ereignis.")
    assert not is_transient(error)
    assert reason_of(error) == "bad-signature: Die Signatur passt nicht zum Ereignis."


def test_the_back_off_doubles_up_to_its_ceiling() -> None:
    policy = RetryPolicy(first_ms=1000, max_ms=300_000, max_attempts=30)
    assert [policy.delay_ms(n) for n in range(1, 11)] == [
        1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000]
    assert policy.delay_ms(100) == 300_000


def declared(spec: str) -> list[Any]:
    module, name = spec.split(":")
    cls = getattr(importlib.import_module(module), name)
    found = []
    for attribute in dir(cls):
        for entrypoint in getattr(getattr(cls, attribute), "nameko_entrypoints", ()):
            found.append(entrypoint)
    return found


def test_every_event_handler_of_every_worker_consumes_through_the_wrapper() -> None:
    from nameko.events import EventHandler

    handlers = [e for spec in WORKERS for e in declared(spec) if isinstance(e, EventHandler)]
    assert len(handlers) >= 12
    assert all(type(e) is ReliableEventHandler for e in handlers), [
        type(e).__name__ for e in handlers if type(e) is not ReliableEventHandler]


def test_the_relay_knows_exactly_the_events_some_worker_consumes() -> None:
    consumed = {(events.exchange_name(e.source_service), e.event_type)
                for spec in WORKERS for e in declared(spec) if isinstance(e, ReliableEventHandler)}
    assert consumed == set(events.CONSUMED)
