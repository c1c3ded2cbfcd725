"""Settings of the documents service only, declared once with their defaults (environment
`KIM_DOCUMENTS_<NAME>`). The node-wide settings are in kimnetz/runtime/settings.py."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Signatory(BaseModel):
    """Who signs the organisation's Drucksachen: name and function as printed („Landrat“,
    „Bürgermeisterin“, „Dezernentin für Soziales“)."""

    name: str = Field(min_length=1)
    function: str = Field(min_length=1)


class DocumentsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIM_DOCUMENTS_", extra="ignore")

    case_record_retention_days: float = Field(
        1095, ge=0, description="Löschfrist of case records (Fallkonferenz-Protokolle): days after "
        "generation until the document and its input are deleted (default three years, the case "
        "service's default; set it from the organisation's Löschkonzept).")
    retention_interval_seconds: float = Field(
        3600, gt=0, description="How often the worker's retention timer runs.")
    signatories: dict[str, Signatory] = Field(
        default_factory=dict, description="Who signs each organisation's Drucksachen, by organisation id, "
        "as JSON: {\"kreis-mettmann\": {\"name\": \"Thomas Hendele\", \"function\": \"Landrat\"}}. A "
        "Drucksache rendered through the api without a `signature` is signed by its author's "
        "organisation's signatory; without one it is refused.")
