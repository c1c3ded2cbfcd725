"""Every value of the conference's and documents' enums the Kreis pages show has its German
label (services/portal/kreis_labels.py), so a value added to a contract cannot reach a page as
an English constant; form values outside an enum are nothing."""

from __future__ import annotations

import pytest

from kim.conference.v1 import types_pb2 as ct
from services.portal.kreis_labels import LABELS, _prefix, label_of, number_of, options


@pytest.mark.parametrize("name", sorted(LABELS))
def test_every_value_but_unspecified_has_a_german_label(name: str) -> None:
    enum, labels = LABELS[name]
    prefix = _prefix(enum)
    values = [v for v in enum.DESCRIPTOR.values if v.number]
    assert sorted(labels) == sorted(v.name.removeprefix(prefix) for v in values)
    assert [n for n, _ in options(name)] == [v.number for v in values]
    assert all(label_of(name, v.number) == labels[v.name.removeprefix(prefix)] for v in values)
    assert label_of(name, 0) == ""


def test_form_values_outside_the_enum_are_nothing() -> None:
    assert number_of("BeschlussStatus", str(ct.BESCHLUSS_STATUS_DISCARDED)) == ct.BESCHLUSS_STATUS_DISCARDED
    for sent in ("", None, "99", "-1", "offen", "2; drop"):
        assert number_of("BeschlussStatus", sent) == 0
    assert label_of("ConferenceStatus", ct.CONFERENCE_STATUS_CLOSED) == "abgeschlossen"
