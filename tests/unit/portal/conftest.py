"""Fixtures of the portal's view tests: `portal` is the portal on fakes (tests/support/fakes/portal.py),
logged in as the Stadt's case manager; `portal.login(OTHER_PERSON)` switches the person."""

from __future__ import annotations

import pytest

from tests.support.fakes.portal import Portal, make_portal


@pytest.fixture
def portal() -> Portal:
    return make_portal()


@pytest.fixture
def anonymous_portal() -> Portal:
    return make_portal(person=None)
