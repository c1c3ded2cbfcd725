"""Domain errors as gRPC answers: each `kimnetz.errors` class (and a unique-index violation of
MongoDB) has its standard status code; an InvalidArgument carries its field violations as
`google.rpc.BadRequest` details, so a client can point at each field. Anything else is INTERNAL,
with no detail of what went wrong (the log has it, not the caller).
"""

from __future__ import annotations

from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from mongoengine import NotUniqueError

from kimnetz import errors

_CODES: dict[type[errors.KimError], int] = {
    errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
    errors.NotFound: code_pb2.NOT_FOUND,
    errors.AlreadyExists: code_pb2.ALREADY_EXISTS,
    errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
    errors.Unavailable: code_pb2.UNAVAILABLE,
}



def status_for(error: Exception) -> status_pb2.Status:
    """The google.rpc.Status a domain or storage error answers with."""
    if isinstance(error, NotUniqueError):
        error = errors.AlreadyExists("Ein Eintrag mit diesen Angaben existiert bereits.")
    if not isinstance(error, errors.KimError):
        return status_pb2.Status(code=code_pb2.INTERNAL, message="Interner Fehler.")
    code = next(c for t, c in _CODES.items() if isinstance(error, t))
    status = status_pb2.Status(code=code, message=error.message)
    if isinstance(error, errors.InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
        status.details.append(detail)
    return status
