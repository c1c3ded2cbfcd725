"""Every runtime setting, declared once with its default.

Read from the environment (prefix `KIM_`, plus the conventional `MONGODB_URI`, `AMQP_URI`,
`KEYCLOAK_URL`); a secret may instead come from a file named by `<NAME>_FILE`
(e.g. `KIM_CLIENT_SECRET_FILE=/run/secrets/kim-client`), as Kubernetes and compose mount them.
The defaults are the local infrastructure of `scripts/infra.sh` (its port variables
`KIM_MONGO_PORT`, `KIM_AMQP_PORT`, `KIM_KEYCLOAK_PORT` move both).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SERVICES = ("case", "conference", "documents", "identity")


class FileSecretsSource(PydanticBaseSettingsSource):
    """Reads `<ENV_NAME>_FILE` for every field: the file's content (stripped) is the value."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for env_name in _env_names(field, field_name):
            path = os.environ.get(f"{env_name}_FILE")
            if path:
                return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


def local_broker_admin() -> tuple[str, str]:
    """The broker's administrator: `KIM_RABBITMQ_ADMIN` ("user:password") or the file
    `KIM_RABBITMQ_ADMIN_FILE` names, else the local broker's as `scripts/infra.sh` created it
    (`$KIM_HOME/rabbitmq-admin`, readable by the operator only); before that file exists, the
    broker's built-in `guest` (a broker started by an older infra.sh)."""
    given = os.environ.get("KIM_RABBITMQ_ADMIN", "")
    root = Path(__file__).resolve().parents[2]
    home = Path(os.environ.get("KIM_HOME", root / ".kim"))
    file = Path(os.environ.get("KIM_RABBITMQ_ADMIN_FILE", "")) if not given else None
    if file is None or not str(file) or str(file) == ".":
        file = (home if home.is_absolute() else root / home) / "rabbitmq-admin"
    if not given:
        try:
            given = file.read_text(encoding="utf-8").strip()
        except OSError:
            return "guest", "guest"
    user, _, password = given.partition(":")
    return user, password


def _local_amqp_uri() -> str:
    user, password = local_broker_admin()
    return (f"amqp://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@127.0.0.1:{_port('KIM_AMQP_PORT', 5673)}/")


def _port(variable: str, default: int) -> int:
    """The local servers' ports, shared with scripts/infra.sh, which reads the same variables."""
    return int(os.environ.get(variable, default))


def _env_names(field: FieldInfo, field_name: str) -> list[str]:
    if isinstance(field.validation_alias, AliasChoices):
        return [str(choice).upper() for choice in field.validation_alias.choices]
    return [f"KIM_{field_name.upper()}"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIM_", extra="ignore", populate_by_name=True)

    # Who this node is.
    node_id: str = Field("dev", description="Stable id of this node, e.g. 'kreis-mettmann'.")
    organization_id: str = Field("dev", description="Keycloak Organization alias of the operator.")

    # MongoDB (one database per service per node: '<db_prefix>_<node>_<service>').
    mongodb_uri: str = Field(
        default_factory=lambda: f"mongodb://127.0.0.1:{_port('KIM_MONGO_PORT', 27018)}/",
        validation_alias=AliasChoices("MONGODB_URI", "KIM_MONGODB_URI"),
    )
    db_prefix: str = "kim"

    # RabbitMQ.
    amqp_uri: str = Field(
        default_factory=_local_amqp_uri,
        validation_alias=AliasChoices("AMQP_URI", "KIM_AMQP_URI"),
        description="This process's broker login and vhost. A node's own user (`kim node init` "
        "writes it); the default is the local broker's administrator (scripts/infra.sh).",
    )
    rabbitmq_admin: str = Field(
        default_factory=lambda: ":".join(local_broker_admin()), repr=False,
        description="user:password of the broker's administrator, for the management API "
        "(`kim node init|link`); only the operator's command line needs it, never a node.")

    rabbitmq_management_url: str = Field(
        default_factory=lambda: f"http://127.0.0.1:{_port('KIM_RABBITMQ_MGMT_PORT', 15673)}",
        validation_alias=AliasChoices("RABBITMQ_MANAGEMENT_URL", "KIM_RABBITMQ_MANAGEMENT_URL"),
        description="Management API of the broker (vhosts of local nodes, federation links).",
    )

    # Keycloak and token validation.
    keycloak_url: str = Field(
        default_factory=lambda: f"http://127.0.0.1:{_port('KIM_KEYCLOAK_PORT', 8081)}",
        validation_alias=AliasChoices("KEYCLOAK_URL", "KIM_KEYCLOAK_URL"),
    )
    keycloak_realm: str = "kim"
    api_audience: str = Field("kim-api", description="Audience every api token must carry.")
    token_leeway_seconds: int = Field(30, ge=0, le=120, description="Bounded clock skew.")
    jwks_cache_seconds: int = 300
    client_id: str = Field("kim-node-dev", description="This node's service-account client.")
    client_secret: str = Field("", repr=False)

    # gRPC api process.
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    grpc_workers: int = 16
    grpc_services: str = Field(
        ",".join(SERVICES), description="Comma-separated services this api process serves."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus metrics of the api process on this port "
        "(/metrics on grpc_host); 0: none."
    )
    worker_metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus metrics of the worker process; 0: none."
    )
    otlp_endpoint: str = Field(
        "", description="OpenTelemetry collector for traces (OTLP over gRPC, e.g. "
        "http://otel-collector:4317); empty: trace ids are made and passed on, nothing exported."
    )
    grpc_reflection: bool = Field(
        True, description="gRPC server reflection, so grpcurl lists the services without the "
        "protos (they are public); a node may switch it off (KIM_GRPC_REFLECTION=false)."
    )

    # Calls between the services of a node.
    case_api_target: str = Field(
        "", description="host:port of the case service's gRPC api; empty: this api process itself."
    )
    conference_api_target: str = Field(
        "", description="host:port of the conference service's gRPC api (read by the documents "
        "api for Protokolle); empty: this api process itself."
    )

    # Fallkonferenz agenda.
    review_interval_months: int = Field(
        3, ge=1, le=12, description="Without a later Fallkonferenz planned, an agenda takes the "
        "quarterly reviews due within this many months after its day (Borken: quarterly).")

    # Conference worker.
    reminder_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the conference worker's timers run: the reminder of "
        "overdue Beschlüsse and the sweep of superseded changes."
    )

    # Federation: organisation check, mutual-TLS port for peer nodes, node directory.
    federation_file: str = Field(
        "", description="This node's copy of the federation file (YAML); its enabled "
        "organisations are the only ones whose tokens are accepted. Empty = development realm "
        "without organisation check and without node directory.")
    federation_port: int = Field(
        0, ge=0, le=65535, description="Mutual-TLS port for calls of peer nodes (0 = none).")
    tls_dir: str = Field(
        "", description="Folder with node.key, node.crt and ca.crt (written by `kim node init`).")
    directory_target: str = Field(
        "", description="Mutual-TLS endpoint (host:port) of the node that keeps the federation's "
        "node directory (the Kreis node); empty = this node keeps it in its identity database.")
    peer_cache_seconds: float = Field(
        5.0, ge=0, le=60, description="How long a peer check's answer is reused; a revoked "
        "node is refused at the latest after this time.")

    # Events between nodes (kimnetz/runtime/event_trust.py, docs/events.md "Signatures").
    events_unsigned: bool = Field(
        False, description="Development realm only: send events unsigned and accept only this "
        "node's own unsigned events. Refused together with a federation file or a TLS folder.")
    directory_snapshot_seconds: float = Field(
        5.0, gt=0, le=300, description="How often the api process copies the node directory "
        "into the node database, where the workers verify event senders against it.")
    event_trust_grace_seconds: float = Field(
        120.0, ge=0, le=3600, description="How long an event signed by a certificate the "
        "directory snapshot does not know yet is retried before it is refused.")

    # Outbox relay.
    outbox_sweep_seconds: float = Field(2.0, gt=0, description="Idle sweep for unsent events.")
    outbox_lease_seconds: float = Field(30.0, gt=0, description="Claim of one relay on a batch.")
    outbox_return_max_seconds: float = Field(
        300.0, gt=0, description="Longest pause before an event the broker returned as "
        "unroutable is published again (doubling from the sweep interval).")

    # Consuming events (kimnetz.runtime.consume, docs/events.md "Failures").
    event_retry_first_ms: int = Field(
        1000, ge=10, description="Back-off before the first redelivery of a passing failure; "
        "doubled per attempt.")
    event_retry_max_ms: int = Field(300_000, ge=10, description="Longest back-off.")
    event_max_attempts: int = Field(
        30, ge=1, description="Deliveries of an event that keeps failing for a passing reason "
        "before it is dead-lettered (about 2 h with the defaults).")

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = Field(
        "json", description="json: one object per line with node, role and trace id; text: plain.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSecretsSource(settings_cls))

    @model_validator(mode="after")
    def _signed_in_a_federation(self) -> Settings:
        if self.events_unsigned and (self.federation_file or self.tls_dir):
            raise ValueError("KIM_EVENTS_UNSIGNED is for a development node outside any "
                             "federation; a node with KIM_FEDERATION_FILE or KIM_TLS_DIR signs "
                             "its events and accepts only signed ones")
        return self

    @property
    def issuer(self) -> str:
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"

    @property
    def served_services(self) -> list[str]:
        names = [s.strip() for s in self.grpc_services.split(",") if s.strip()]
        unknown = sorted(set(names) - set(SERVICES))
        if unknown:
            raise ValueError(f"unknown services in KIM_GRPC_SERVICES: {', '.join(unknown)}")
        return names

    def database_name(self, service: str) -> str:
        """FerretDB and MongoDB both accept [A-Za-z0-9_-]; node ids are normalised to that."""
        node = re.sub(r"[^A-Za-z0-9_-]", "_", self.node_id)
        return f"{self.db_prefix}_{node}_{service}"[:63]
