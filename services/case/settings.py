"""Settings of the case service only, declared once with their defaults (environment
`KIM_CASE_<NAME>`). The node-wide settings are in kimnetz/runtime/settings.py."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
