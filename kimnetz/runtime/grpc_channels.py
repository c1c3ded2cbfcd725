"""Client channels of this node to other nodes: the mutual-TLS channel to a peer's port,
presenting this node's certificate (the peer checks it against the node directory)."""

from __future__ import annotations

import grpc

from kimnetz.runtime.pki import NodeCredentials
from kimnetz.runtime.tracing import traced_channel


def peer_channel(target: str, credentials: NodeCredentials, server_name: str | None = None) -> grpc.Channel:
    """A channel to a peer node's mutual-TLS port, presenting this node's certificate."""
    channel_credentials = grpc.ssl_channel_credentials(
        root_certificates=credentials.ca_certificate,
        private_key=credentials.key,
        certificate_chain=credentials.certificate,
    )
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    return traced_channel(grpc.secure_channel(target, channel_credentials, options=options))
