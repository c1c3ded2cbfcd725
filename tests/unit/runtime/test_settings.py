from pathlib import Path

import pytest

from kimnetz.runtime.settings import Settings


def test_defaults_point_at_the_local_infrastructure(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MONGODB_URI", "AMQP_URI", "KEYCLOAK_URL", "KIM_NODE_ID",
                 "KIM_MONGO_PORT", "KIM_AMQP_PORT", "KIM_KEYCLOAK_PORT"):
        monkeypatch.delenv(name, raising=False)
    # The local broker's administrator, as scripts/infra.sh wrote it (the test run names it).
    monkeypatch.setenv("KIM_RABBITMQ_ADMIN", "kim-admin:generated")
    settings = Settings()
    assert settings.mongodb_uri == "mongodb://127.0.0.1:27018/"
    assert settings.amqp_uri == "amqp://kim-admin:generated@127.0.0.1:5673/"
    assert settings.issuer == "http://127.0.0.1:8081/realms/kim"


def test_without_an_administrator_file_the_default_is_a_broker_of_an_older_set_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AMQP_URI", "KIM_AMQP_PORT", "KIM_RABBITMQ_ADMIN", "KIM_RABBITMQ_ADMIN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIM_HOME", str(tmp_path))  # no rabbitmq-admin written there
    assert Settings().amqp_uri == "amqp://guest:guest@127.0.0.1:5673/"


def test_conventional_uri_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017/")
    monkeypatch.setenv("KEYCLOAK_URL", "https://login.kreis.example/")
    settings = Settings()
    assert settings.mongodb_uri == "mongodb://db.example:27017/"
    assert settings.issuer == "https://login.kreis.example/realms/kim"


def test_secret_is_read_from_the_file_named_by_its_file_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "client-secret"
    secret.write_text("s3cr3t\n", encoding="utf-8")
    monkeypatch.delenv("KIM_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("KIM_CLIENT_SECRET_FILE", str(secret))
    assert Settings().client_secret == "s3cr3t"


def test_file_variable_also_works_for_aliased_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    uri = tmp_path / "amqp"
    uri.write_text("amqp://kim:pw@broker:5671/kreis", encoding="utf-8")
    monkeypatch.delenv("AMQP_URI", raising=False)
    monkeypatch.setenv("AMQP_URI_FILE", str(uri))
    assert Settings().amqp_uri == "amqp://kim:pw@broker:5671/kreis"


def test_database_names_are_per_node_and_service_and_safe_for_ferretdb() -> None:
    settings = Settings(node_id="kreis.mettmann/ki")
    assert settings.database_name("case") == "kim_kreis_mettmann_ki_case"


def test_unknown_service_in_the_served_list_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown services"):
        _ = Settings(grpc_services="case,billing").served_services
