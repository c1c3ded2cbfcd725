"""Where the authenticated call's overhead goes, piece by piece in-process: the token check
(`TokenValidator.validate`) and the door's audit record (`LoggingAuditSink` through the api
process's logging), each timed over many calls and profiled with pyinstrument. Not part of
`make bench`:

    .venv/bin/python -m bench.profile_auth [--calls 2000] [--out out/bench/profile-auth.txt]

Uses the development realm's node client (as the runtime part of the bench does).
"""

from __future__ import annotations

import argparse
import io
import logging
import time
from pathlib import Path

from pyinstrument import Profiler

from kimctl import devrealm
from kimnetz.runtime.audit import LoggingAuditSink, auth_listener
from kimnetz.runtime.auth import TokenValidator
from kimnetz.runtime.logging import configure_logging
from kimnetz.runtime.service_account import ServiceAccount
from kimnetz.runtime.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("out/bench/profile-auth.txt"))
    args = parser.parse_args()
    settings = devrealm.settings_with_secret(Settings())
    token = ServiceAccount(settings.keycloak_url, settings.keycloak_realm, settings.client_id,
                           settings.client_secret).token()
    validator = TokenValidator(settings.issuer, settings.api_audience)
    principal = validator.validate(token)  # fetches the signing keys once
    configure_logging("INFO", "bench-profile")  # as the api process logs (to a buffer here)
    buffer = io.StringIO()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)
    listen = auth_listener(LoggingAuditSink())
    lines: list[str] = []
    profiler = Profiler(interval=0.0005)
    with profiler:
        for label, call in (
            ("TokenValidator.validate", lambda: validator.validate(token)),
            ("door audit record (LoggingAuditSink, INFO line)",
             lambda: listen("/kim.identity.v1.IdentityService/WhoAmI", principal, None)),
        ):
            begin = time.perf_counter()
            for _ in range(args.calls):
                call()
            lines.append(f"{label}: {(time.perf_counter() - begin) / args.calls * 1e6:.0f} µs per call")
    lines += ["", profiler.output_text(unicode=True, color=False)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:50]))


if __name__ == "__main__":
    main()
