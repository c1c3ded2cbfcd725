"""Every vocabulary member has its German label, also where values repeat across vocabularies."""

from __future__ import annotations

import pytest

from services.conference.domain import vocabulary as v

VOCABULARIES = [
    c for c in vars(v).values()
    if isinstance(c, type) and issubclass(c, v.Labelled) and c is not v.Labelled
]


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda c: c.__name__)
def test_every_member_has_a_german_label(vocabulary: type[v.Labelled]) -> None:
    for member in vocabulary:
        assert member.label.strip()


def test_shared_values_keep_their_own_labels() -> None:
    assert v.CaseStatus.CLOSED.label == "abgeschlossen"
    assert v.SessionStatus.CLOSED.label == "geschlossen"
    assert v.ParticipantRole.CASE_MANAGER.label == v.Role.CASE_MANAGER.label == "Case Manager*in"
    assert v.ReferralTarget.OTHER.label == "sonstiger Regeldienst"


@pytest.mark.parametrize(("age", "band"), [
    (17, v.AgeBand.UNDER_18), (18, v.AgeBand.FROM_18_TO_27), (27, v.AgeBand.FROM_18_TO_27),
    (28, v.AgeBand.FROM_28_TO_39), (39, v.AgeBand.FROM_28_TO_39), (40, v.AgeBand.FROM_40_TO_64),
    (64, v.AgeBand.FROM_40_TO_64), (65, v.AgeBand.FROM_65),
])
def test_age_bands_cut_where_the_programmes_cut(age: int, band: v.AgeBand) -> None:
    assert v.AgeBand.for_age(age) is band
