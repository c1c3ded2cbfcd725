"""Datenschutz: the data protection officer's pages (issue 16). The officer reads no case; they
read the node's hash-chained audit trail, where every access to case data stands (allowed or
refused, with who, organisation, roles, purpose), and verify that chain.

URLs (stable):

    /datenschutz/                   the audit trail with filters (Fall, Person, Aufruf, nur
                                    abgewiesene), paged by sequence number
    /datenschutz/pruefung           verify the chain (VerifyAuditChain; POST runs it)
    /datenschutz/einwilligungen     consents and their revocations, erase requests and their
                                    confirmations (the trail's consent and erasure entries)

The api pages the trail by sequence and filters only by case; the other filters are applied here
to the entries read, a bounded number of pages per view (`SCAN_PAGES`), and the page says how far
it read and links on from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request

from kim.case.v1 import case_pb2
from services.portal.apis import apis, call
from services.portal.auth import role_required
from services.portal.navigation import NavItem

bp = Blueprint("datenschutz", __name__, url_prefix="/datenschutz")

DPO = "data_protection_officer"
NAV = (NavItem("Datenschutz", "datenschutz.protokoll", frozenset({DPO}), order=60),)

PAGE_SIZE = 500
#: Pages of the trail read for one view at most (5,000 entries).
SCAN_PAGES = 10
#: Entries shown on one view at most.
SHOWN = 200

#: The calls of the consent page: consents and revocations, erase requests and confirmations.
CONSENT_CALLS = ("RecordConsent", "RevokeConsent")
ERASURE_CALLS = ("RevokeConsent", "ConfirmErasure", "ConfirmRetentionErasure")
CONSENT_ID = re.compile(r"Einwilligung ([0-9a-f]{8,})")


def scan(case_id: str, after: int, keep: Callable[[Any], bool],
         limit: int = SHOWN) -> tuple[list[Any], int, bool]:
    """Entries after sequence `after` that `keep` accepts, at most `limit`, reading at most
    `SCAN_PAGES` pages; returns them, the last sequence read and whether the trail goes on."""
    found: list[Any] = []
    last = after
    for _ in range(SCAN_PAGES):
        page = call(apis().case.ListAuditEntries, case_pb2.ListAuditEntriesRequest(
            case_id=case_id, after_sequence=last, page_size=PAGE_SIZE))
        for entry in page.entries:
            last = entry.sequence
            if keep(entry):
                found.append(entry)
                if len(found) >= limit:
                    return found, last, True
        if not page.next_after_sequence:
            return found, last, False
    return found, last, True


def consent_of(entry: Any) -> str:
    """The consent id an entry's detail names ("Einwilligung <id> …"; the case service writes
    it for RecordConsent, RevokeConsent and ConfirmErasure), else the case id."""
    found = CONSENT_ID.search(entry.detail)
    return found.group(1) if found else entry.case_id


def sequence_arg(name: str) -> int:
    text = request.args.get(name, "").strip()
    return int(text) if text.isdigit() else 0


@bp.get("/")
@role_required(DPO)
def protokoll() -> str:
    filters: dict[str, Any] = {
        "fall": request.args.get("fall", "").strip(),
        "person": request.args.get("person", "").strip(),
        "aufruf": request.args.get("aufruf", "").strip(),
        "abgewiesen": request.args.get("abgewiesen") == "1",
    }
    after = sequence_arg("ab")
    person = filters["person"].casefold()
    aufruf = filters["aufruf"].casefold()

    def keep(entry: Any) -> bool:
        if person and person not in entry.actor_subject.casefold():
            return False
        if aufruf and aufruf not in entry.call.casefold():
            return False
        return not (filters["abgewiesen"] and entry.allowed)

    entries, last, more = scan(str(filters["fall"]), after, keep)
    return render_template("datenschutz/protokoll.html", entries=entries, filters=filters, after=after,
                           last=last, more=more, filtered=any(filters.values()))


@bp.route("/pruefung", methods=["GET", "POST"])
@role_required(DPO)
def pruefung() -> str:
    """The chain check: every entry's hash over its content and its predecessor's hash."""
    result = None
    if request.method == "POST":
        result = call(apis().case.VerifyAuditChain, case_pb2.VerifyAuditChainRequest())
    return render_template("datenschutz/pruefung.html", result=result)


@bp.get("/einwilligungen")
@role_required(DPO)
def einwilligungen() -> str:
    """Consents and revocations, erase requests and their confirmations, newest first; a
    revocation whose erasure no node has confirmed is named as outstanding."""
    after = sequence_arg("ab")
    wanted = set(CONSENT_CALLS) | set(ERASURE_CALLS)
    entries, last, more = scan("", after, lambda e: e.allowed and (
        e.call in wanted or e.call.startswith("Retention")), limit=1000)
    consents = [e for e in entries if e.call in CONSENT_CALLS]
    erasures = [e for e in entries if e.call in ERASURE_CALLS or e.call.startswith("Retention")]
    confirmed = {consent_of(e) for e in erasures if e.call == "ConfirmErasure"}
    outstanding = [e for e in erasures if e.call == "RevokeConsent" and consent_of(e) not in confirmed]
    consents.reverse()
    erasures.reverse()
    return render_template("datenschutz/einwilligungen.html", consents=consents, erasures=erasures,
                           outstanding=outstanding, after=after, last=last, more=more)
