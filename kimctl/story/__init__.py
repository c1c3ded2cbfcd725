"""The KIM story over three nodes of a federation, headless: case managers of the Stadt Hilden
and of the Caritas propose cases with consent, the Kreis's Fallkonferenz admits one and refers
the other, the decisions come back to the owning nodes, the admitted case gets an
Integrationsplan and a barrier, the Lenkungsgruppe adopts Beschlüsse (a Projektgruppe's mandate
and a new Zielgruppe) that reach every node, the Projektgruppe's register shows the barrier,
the documents are generated into a folder, and a revoked consent is erased at the Kreis and
confirmed back on the Stadt's case.

Everything goes through the nodes' public gRPC apis with the tokens of the people who act, as
they would act; what crosses between the nodes crosses by the federation (events and peer
calls), never by this package. `kim demo` runs it with visible progress (kimctl/demo.py), the
e2e tests run it against nodes of their own and assert on the returned `StoryRun`
(tests/e2e/test_story.py).

- scenario.yaml, scenario.py: who acts and what they type in (fictional people), as typed values;
- driver.py: the steps in order (`Story`, `run_story`, `StoryRun`);
- nodes.py: channels to the nodes with stubs bound to a person's token, waiting (`poll`);
- messages.py: the scenario as request messages; output.py: rows and German wording.
"""

from kimctl.story.driver import STEPS, GeneratedDocument, Story, StoryCase, StoryRun, run_story
from kimctl.story.nodes import Api, CachedTokens, StoryFailed, StoryNode, TokenProvider, poll, rpc_error
from kimctl.story.output import Observer, StepResult, erasure_confirmations
from kimctl.story.scenario import (
    ABH,
    CARITAS,
    CARITAS_CASE_MANAGER,
    CARITAS_PERSON,
    COORDINATOR,
    KREIS,
    KREIS_CLERK,
    LIAISON,
    NEW_ZIELGRUPPE_KEY,
    NEW_ZIELGRUPPE_NAME,
    PENDING_PERSON,
    STADT,
    STADT_CASE_MANAGER,
    STADT_CLERK,
    STADT_PERSON,
    Actor,
    FictionalPerson,
    Scenario,
    scenario,
)

__all__ = [
    "ABH", "CARITAS", "CARITAS_CASE_MANAGER", "CARITAS_PERSON", "COORDINATOR", "KREIS", "KREIS_CLERK",
    "LIAISON", "NEW_ZIELGRUPPE_KEY", "NEW_ZIELGRUPPE_NAME", "PENDING_PERSON", "STADT",
    "STADT_CASE_MANAGER", "STADT_CLERK", "STADT_PERSON", "STEPS", "Actor", "Api", "CachedTokens",
    "FictionalPerson", "GeneratedDocument", "Observer", "Scenario", "StepResult", "Story", "StoryCase",
    "StoryFailed", "StoryNode", "StoryRun", "TokenProvider", "erasure_confirmations", "poll",
    "rpc_error", "run_story", "scenario",
]
