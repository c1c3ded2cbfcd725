from google.rpc import code_pb2, error_details_pb2
from mongoengine import NotUniqueError

from kimnetz import errors
from kimnetz.runtime.grpc_errors import status_for


def test_invalid_argument_carries_every_field_violation_in_german() -> None:
    error = errors.InvalidArgument([
        errors.FieldViolation("person.birth_date", "Das Geburtsdatum liegt in der Zukunft."),
        errors.FieldViolation("consent.expires_on", "Die Einwilligung ist abgelaufen."),
    ])
    status = status_for(error)
    assert status.code == code_pb2.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("person.birth_date", "Das Geburtsdatum liegt in der Zukunft."),
        ("consent.expires_on", "Die Einwilligung ist abgelaufen."),
    ]


def test_unique_index_violation_answers_already_exists() -> None:
    status = status_for(NotUniqueError("E11000 duplicate key"))
    assert status.code == code_pb2.ALREADY_EXISTS
    assert "existiert bereits" in status.message


def test_each_domain_error_has_its_standard_code() -> None:
    expected = {
        errors.NotFound("x"): code_pb2.NOT_FOUND,
        errors.FailedPrecondition("x"): code_pb2.FAILED_PRECONDITION,
        errors.PermissionDenied("x"): code_pb2.PERMISSION_DENIED,
        errors.Unauthenticated("x"): code_pb2.UNAUTHENTICATED,
        errors.Unavailable("x"): code_pb2.UNAVAILABLE,
    }
    assert {type(e): status_for(e).code for e in expected} == {type(e): c for e, c in expected.items()}


def test_unexpected_errors_reveal_nothing_internal() -> None:
    status = status_for(RuntimeError("password=geheim at mongodb://..."))
    assert status.code == code_pb2.INTERNAL
    assert "geheim" not in status.message
