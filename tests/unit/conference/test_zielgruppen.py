"""Zielgruppen definitions are checked before a Lenkungsgruppe can decide on them."""

from __future__ import annotations

import pytest

from kimnetz.errors import InvalidArgument
from services.conference.domain.vocabulary import VorlageKind
from services.conference.domain.zielgruppen import (
    CountryRule,
    ZielgruppeDefinition,
    next_version,
    validate_definitions,
)
from tests.unit.conference.factories import make_vorlage, make_zielgruppen


def test_mettmann_style_definitions_are_valid() -> None:
    validate_definitions(make_zielgruppen())


def test_every_problem_of_a_catalogue_is_reported_at_once() -> None:
    definitions = (
        ZielgruppeDefinition(key="Bad Key", name="", min_age=30, max_age=20),
        ZielgruppeDefinition(key="x", name="ohne Kriterium"),
        ZielgruppeDefinition(key="x", name="doppelt", legal_bases=("25a",),
                             countries_of_origin=(CountryRule("Albanien"),)),
    )
    with pytest.raises(InvalidArgument) as error:
        validate_definitions(definitions)
    assert {v.field for v in error.value.violations} == {
        "zielgruppen[0].key", "zielgruppen[0].name", "zielgruppen[0].max_age", "zielgruppen[1]",
        "zielgruppen[2].key", "zielgruppen[2].legal_bases[0]",
        "zielgruppen[2].countries_of_origin[0].country",
    }


def test_an_empty_catalogue_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="unvollständig"):
        validate_definitions(())


def test_zielgruppen_belong_only_in_a_zielgruppen_vorlage() -> None:
    with pytest.raises(InvalidArgument) as error:
        make_vorlage(kind=VorlageKind.GENERAL, zielgruppen=make_zielgruppen())
    assert [v.field for v in error.value.violations] == ["zielgruppen"]
    with pytest.raises(InvalidArgument):
        make_vorlage(kind=VorlageKind.ZIELGRUPPEN, zielgruppen=())


@pytest.mark.parametrize(("latest", "expected"), [(None, 2), (1, 2), (2, 3), (7, 8)])
def test_versions_count_up_from_the_shipped_default(latest: int | None, expected: int) -> None:
    assert next_version(latest) == expected
