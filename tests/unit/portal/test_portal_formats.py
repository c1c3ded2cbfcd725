"""German formats of the portal (Jinja filters datum, datum_zeit, euro, zahl, label) and the
parsers of what German users type (dates "16.11.2021", numbers "0,75")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp
from werkzeug.datastructures import MultiDict

from kim.common.v1 import types_pb2 as common
from services.portal.formatting import datum, datum_zeit, euro, label, zahl
from services.portal.forms import (
    FormErrors,
    field_id,
    field_text,
    field_texts,
    parse_date,
    parse_decimal,
    parse_int,
)
from tests.support.fakes.portal import Portal


def test_datum_reads_dates_datetimes_iso_text_and_proto_dates() -> None:
    assert datum(date(2021, 11, 16)) == "16.11.2021"
    assert datum(common.Date(year=2021, month=11, day=6)) == "06.11.2021"
    assert datum("2021-11-16") == "16.11.2021"
    assert datum(datetime(2021, 11, 16, 23, 30, tzinfo=UTC)) == "17.11.2021"  # Berlin's day
    assert datum(common.Date()) == "" and datum(None) == ""


def test_datum_zeit_is_berlin_time_in_winter_and_summer() -> None:
    assert datum_zeit(datetime(2021, 11, 16, 13, 5, tzinfo=UTC)) == "16.11.2021, 14:05 Uhr"
    stamp = Timestamp()
    stamp.FromDatetime(datetime(2021, 7, 1, 8, 0, tzinfo=UTC))
    assert datum_zeit(stamp) == "01.07.2021, 10:00 Uhr"
    assert datum_zeit(Timestamp()) == ""


def test_euro_and_zahl_in_german_notation() -> None:
    assert euro(Decimal("1250.5")) == "1.250,50\xa0€"
    assert euro(0) == "0,00\xa0€"
    assert zahl(Decimal("1250.5")) == "1.250,5"
    assert zahl(0.75) == "0,75"
    assert zahl(12345, 0) == "12.345"
    assert euro(None) == "" and zahl("") == ""


def test_label_gives_the_vocabularys_german_words() -> None:
    assert label("in_review", "CaseStatus") == "in der Fallkonferenz"
    assert label(common.CASE_STATUS_ACTIVE, "CaseStatus") == "aktiv (Monitoring)"
    assert label("case_manager", "Role") == "Case Manager*in"
    assert label("gibt-es-nicht", "CaseStatus") == "gibt-es-nicht"


def test_filters_are_registered_in_the_templates(portal: Portal) -> None:
    with portal.app.app_context():
        template = portal.app.jinja_env.from_string(
            "{{ d | datum }} {{ x | euro }} {{ y | zahl }} {{ s | label('CaseStatus') }}")
        assert template.render(d=date(2021, 11, 16), x=3, y=0.5, s="closed") == \
            "16.11.2021 3,00\xa0€ 0,5 abgeschlossen"


def test_parse_date_reads_german_and_iso_dates_and_names_the_field_when_wrong() -> None:
    errors = FormErrors()
    assert parse_date("16.11.2021", "signed_on", errors) == date(2021, 11, 16)
    assert parse_date(" 1.2.2022 ", "signed_on", errors) == date(2022, 2, 1)
    assert parse_date("2021-11-16", "signed_on", errors) == date(2021, 11, 16)
    assert parse_date("", "expires_on", errors) is None and not errors
    assert parse_date("31.02.2021", "a", errors, label="Unterschrieben am") is None
    assert parse_date("morgen", "b", errors) is None
    assert parse_date("", "c", errors, label="das Datum", required=True) is None
    assert errors.fields == {"a": "Unterschrieben am: diesen Tag gibt es nicht.",
                             "b": "Datum: bitte im Format TT.MM.JJJJ angeben, zum Beispiel 16.11.2021.",
                             "c": "Bitte geben Sie das Datum an."}


def test_parse_numbers_in_german_notation() -> None:
    errors = FormErrors()
    assert parse_decimal("0,75", "x", errors) == Decimal("0.75")
    assert parse_decimal("1.250,50 €", "x", errors) == Decimal("1250.50")
    assert parse_decimal("1250.5", "x", errors) == Decimal("1250.5")
    assert parse_int("1.000", "n", errors) == 1000
    assert not errors
    assert parse_decimal("1,2,3", "y", errors) is None
    assert parse_int("3,5", "z", errors) is None
    assert set(errors.fields) == {"y", "z"}


def test_field_ids_are_valid_html_ids_from_api_field_paths() -> None:
    assert field_id("person.birth_date") == "f-person-birth_date"
    assert field_id("goals[2].title") == "f-goals-2-title"


def test_form_errors_keep_the_first_message_of_a_field() -> None:
    errors = FormErrors({"a": "zuerst"})
    errors.add("a", "später")
    errors.add_general("Der Fall ist abgeschlossen.")
    assert errors.get("a") == "zuerst" and "a" in errors and bool(errors)
    assert not FormErrors()


def test_field_text_strips_blanks_and_reads_a_missing_input_as_empty() -> None:
    form = MultiDict([("note", "  Termin verschoben \n"), ("empty", ""), ("twice", " a "), ("twice", "b")])
    assert field_text(form, "note") == "Termin verschoben"
    assert field_text(form, "missing") == ""
    assert field_texts(form) == {"note": "Termin verschoben", "empty": "", "twice": "a"}
