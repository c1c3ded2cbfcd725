"""One log format for api and worker processes: one line per record, with the node id."""

from __future__ import annotations

import logging


def configure_logging(level: str, node_id: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)s [{node_id}] %(name)s: %(message)s",
        force=True,
    )
    # pika-style chatter from kombu and the Keycloak client's HTTP pool is noise at INFO.
    for noisy in ("kombu", "amqp", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
