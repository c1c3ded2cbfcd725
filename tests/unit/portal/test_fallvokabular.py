"""The case pages' labels of the case service's own enums (services/portal/pages/fallvokabular.py)
are the case service's labels, and every form value maps onto its proto enum and back."""

from __future__ import annotations

import pytest

from services.case.domain import vocabulary
from services.portal.pages import fallvokabular as vocab


@pytest.mark.parametrize("enum", sorted(vocab.CASE_LABELS))
def test_the_labels_are_the_case_services(enum: str) -> None:
    assert vocab.labels(enum) == {m.value: m.label for m in getattr(vocabulary, enum)}


@pytest.mark.parametrize("enum", sorted([*vocab.CASE_LABELS, *vocab.SHARED]))
def test_every_value_maps_to_its_proto_number_and_back(enum: str) -> None:
    for value, label in vocab.choices(enum):
        number = vocab.number(enum, value)
        assert number > 0 and vocab.value(enum, number) == value and vocab.label(enum, number) == label
    assert vocab.number(enum, "") == 0 == vocab.number(enum, "gibt-es-nicht")
