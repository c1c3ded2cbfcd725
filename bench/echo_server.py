"""The floor of a gRPC call: a bare grpcio unary echo server in its own process, with the same
thread pool size as the api process. Prints its port, then serves until killed."""

from __future__ import annotations

import sys
from concurrent import futures

import grpc


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, _: request)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    server.stop(None)


if __name__ == "__main__":
    main()
