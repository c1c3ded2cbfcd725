"""The inputs of documents built from live data, each the same plain data as the YAML file of
its `kim documents` command, so one parser checks both and the stored input of a rendered
document can be rendered again from the command line:

- `fallkonferenz_protokoll`: a closed Fallkonferenz of the conference service -> the input of
  its Protokoll (`kim documents protokoll`);
- `lenkungsgruppe_protokoll`: a closed Lenkungsgruppe session with its Gremium and Beschlüsse
  -> the input of its Beschlussprotokoll (`kim documents beschlussprotokoll`);
- `monitoringbericht`: the case service's figures (the node's, or on the Kreis' node the
  federation's) -> the input of a Monitoringbericht (`kim documents monitoring`);
- `drucksache_figures`: the same figures as paragraphs of a Drucksache's Sachdarstellung
  (`kim documents drucksache`);
- `figure_lines`: the German lines both figure documents print.

The figures come suppressed from the case service and stay so: a cell below 5 is "< 5", a
withheld one "x", in tables, charts and text alike; nothing here adds or subtracts them. The
federation's figures (the Kreis' node) are combined by domain/federation.py and printed with its
marks ("mind. 12"), the nodes they come from and the nodes not reached.

Only a CLOSED Fallkonferenz (its record is frozen) and a CLOSED Lenkungsgruppe session (its
results are final) get a Protokoll; anything else is FAILED_PRECONDITION. Dates and times are
printed in the Kreis' time zone, Europe/Berlin.

Pure Python (no gRPC, no database): the records come through the ports `ConferenceRecords`
(conference.py) and `CaseFigures`/`PeerFigures` (figures.py).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def local(moment: datetime) -> datetime:
    """`moment` in the Kreis' time zone."""
    return moment.astimezone(BERLIN)
