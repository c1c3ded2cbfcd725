"""Settings of the case service only, declared once with their defaults (environment
`KIM_CASE_<NAME>`). The node-wide settings are in kimnetz/runtime/settings.py."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.case.domain.reminders import LeadTimes


class RetentionMode(StrEnum):
    #: The case and all its versions are deleted; only the audit trail remembers the deletion.
    DELETE = "delete"
    #: The person and every free text go; status, dates, Zielgruppe and counts stay for
    #: the monitoring figures.
    ANONYMISE = "anonymise"


class CaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIM_CASE_", extra="ignore")

    retention_days: float = Field(
        1095, ge=0, description="Löschfrist: days after closure until a closed case is deleted or "
        "anonymised (default three years; set it from the organisation's Löschkonzept).")
    retention_mode: RetentionMode = RetentionMode.ANONYMISE
    retention_interval_seconds: float = Field(
        3600, gt=0, description="How often the worker's retention timer runs.")

    read_models_interval_seconds: float = Field(
        5, gt=0, description="How often the worker folds the pending writes into the maintained "
        "lists and figures (reads fold what is left; docs/case.md, \"Lists and figures\").")

    # Reminders (docs/case.md, "Reminders"): how often the worker looks, and how many days
    # before its date each kind of occasion is reminded of.
    reminder_interval_seconds: float = Field(
        3600, gt=0, description="How often the worker's reminder timer runs.")
    reminder_residence_days: int = Field(
        42, ge=0, description="Days before a Duldung or Aufenthaltsgestattung ends.")
    reminder_birthday_days: int = Field(
        90, ge=0, description="Days before the 18th and the 21st birthday.")
    reminder_25a_days: int = Field(
        180, ge=0, description="Days before the last day for a § 25a application (the day before "
        "the 27th birthday).")
    reminder_review_days: int = Field(
        14, ge=0, description="Days before the next review in the Fallkonferenz.")

    def reminder_lead_times(self) -> LeadTimes:
        return LeadTimes(residence_days=self.reminder_residence_days,
                         birthday_days=self.reminder_birthday_days,
                         application_25a_days=self.reminder_25a_days,
                         review_days=self.reminder_review_days)
