"""What tests read from a gRPC call that was refused: the error itself, and the field violations
(google.rpc.BadRequest) of an INVALID_ARGUMENT answer."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def refusal(call: Callable[[], object], what: str) -> grpc.RpcError:
    """The error `call` answers with; the test fails, naming `what`, if it succeeds."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    pytest.fail(f"{what} succeeded but should have failed")


def violations(error: grpc.RpcError) -> dict[str, str]:
    """Field -> German description of an INVALID_ARGUMENT answer's BadRequest details."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    found: dict[str, str] = {}
    for detail in status.details if status else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            found.update({v.field: v.description for v in bad_request.field_violations})
    return found
