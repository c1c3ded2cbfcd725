"""A NUL character in any string of a request is refused at the api's door, every field named
in German, before anything is stored (kimnetz.runtime.grpc_interceptors.TextInterceptor).
PostgreSQL, FerretDB's backend, cannot keep one: without the door it failed deep in the write
as INTERNAL."""

from __future__ import annotations

import grpc

from kim.case.v1 import case_pb2
from services.case.repository import CaseDocument
from tests.integration.case.case_requests import person, proposal
from tests.integration.case.conftest import OWNER, Caller, CaseApi
from tests.support.grpc_calls import violations

CM = Caller(OWNER, "case_manager")
NUL_REFUSAL = "Enthält ein unzulässiges Nullzeichen (U+0000)."


def test_a_proposal_with_nul_characters_is_refused_naming_each_field_and_stores_nothing(
    case_api: CaseApi, fresh_store: None,
) -> None:
    request = proposal(reason="Ausbildung\x00scheitert",
                       person=person(family_name="Had\x00dad", nationalities=["SY", "\x00"]))
    error = case_api.fails("ProposeCase", request, CM)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"reason": NUL_REFUSAL, "person.family_name": NUL_REFUSAL,
                                 "person.nationalities[1]": NUL_REFUSAL}
    assert CaseDocument.objects.count() == 0


def test_ids_filters_and_page_tokens_with_a_nul_character_are_refused_not_failed(
    case_api: CaseApi, fresh_store: None,
) -> None:
    for method, request, field in (
        ("GetCase", case_pb2.GetCaseRequest(case_id="case-\x00"), "case_id"),
        ("ListCases", case_pb2.ListCasesRequest(case_manager="c.\x00"), "case_manager"),
        ("ListCases", case_pb2.ListCasesRequest(page_token="\x00"), "page_token"),
    ):
        error = case_api.fails(method, request, CM)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, method
        assert violations(error) == {field: NUL_REFUSAL}, method


def test_a_request_without_nul_characters_passes_the_door(case_api: CaseApi, fresh_store: None) -> None:
    proposed = case_api.call("ProposeCase", proposal(reason="Zeilen\nund\tTabulatoren sind Text."), CM)
    loaded = case_api.call("GetCase", case_pb2.GetCaseRequest(case_id=proposed.case_id), CM)
    assert loaded.proposal.reason == "Zeilen\nund\tTabulatoren sind Text."
