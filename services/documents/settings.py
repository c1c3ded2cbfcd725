"""Settings of the documents service only, declared once with their defaults (environment
`KIM_DOCUMENTS_<NAME>`). The node-wide settings are in kimnetz/runtime/settings.py."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DocumentsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIM_DOCUMENTS_", extra="ignore")

    case_record_retention_days: float = Field(
        1095, ge=0, description="Löschfrist of case records (Fallkonferenz-Protokolle): days after "
        "generation until the document and its input are deleted (default three years, the case "
        "service's default; set it from the organisation's Löschkonzept).")
    retention_interval_seconds: float = Field(
        3600, gt=0, description="How often the worker's retention timer runs.")
