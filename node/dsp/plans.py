"""What the node does on its own when a negotiation or transfer reaches a state.

The node's own plan is the automatic one: a contract request is answered with a signed
agreement when the dataset's policy permits it (else a termination naming why), a
verified agreement is finalised, a counter-offer is declined (the dataset's offer
stands), and a transfer request under a valid agreement is started. An operator may give
single datasets or agreements another plan in a JSON file (`dsp.plans`), e.g. to offer
first and agree only after the consumer accepted; the DSP conformance kit's data seeding
uses such a file to script every scenario. As consumer the node accepts offers and
verifies agreements (`consumer_negotiations` and `consumer_transfers` in the same file
script it otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

NEGOTIATION_ACTIONS = ("offer", "agree", "finalize", "terminate", "pause")
TRANSFER_ACTIONS = ("start", "suspend", "complete", "terminate", "pause")
PAUSE_SECONDS = 0.5
"""A scripted pause between two reactions, so the counterpart sees each state on its own."""

Plan = Mapping[str, tuple[str, ...]]

AUTOMATIC_NEGOTIATION: Plan = {
    "requested": ("agree",),
    "countered": ("terminate",),
    "accepted": ("agree",),
    "verified": ("finalize",),
}
AUTOMATIC_TRANSFER: Plan = {"requested": ("start",)}
CONSUMER_NEGOTIATION: Plan = {"requested": (), "offered": ("accept",), "agreed": ("verify",)}
"""As consumer the node accepts the provider's offer and verifies its agreement."""
CONSUMER_TRANSFER: Plan = {"requested": (), "started": ()}
"""As consumer the node keeps a started transfer running until the provider ends it."""
CONSUMER_NEGOTIATION_ACTIONS = ("accept", "counter", "verify", "terminate", "pause")
CONSUMER_TRANSFER_ACTIONS = ("complete", "suspend", "terminate", "pause")


def _plan_schema(triggers: tuple[str, ...], actions: tuple[str, ...]) -> dict[str, Any]:
    steps = {"type": "array", "maxItems": 10, "items": {"enum": list(actions)}}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {trigger: steps for trigger in triggers},
    }


_NEGOTIATION_TRIGGERS = tuple(AUTOMATIC_NEGOTIATION)
_FILE = Draft202012Validator(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "negotiations": {
                "type": "object",
                "additionalProperties": _plan_schema(_NEGOTIATION_TRIGGERS, NEGOTIATION_ACTIONS),
            },
            "transfers": {
                "type": "object",
                "additionalProperties": _plan_schema(("requested",), TRANSFER_ACTIONS),
            },
            "consumer_negotiations": {
                "type": "object",
                "additionalProperties": _plan_schema(
                    tuple(CONSUMER_NEGOTIATION), CONSUMER_NEGOTIATION_ACTIONS
                ),
            },
            "consumer_transfers": {
                "type": "object",
                "additionalProperties": _plan_schema(
                    tuple(CONSUMER_TRANSFER), CONSUMER_TRANSFER_ACTIONS
                ),
            },
        },
    }
)


class PlanError(ValueError):
    """A plans file that cannot be used; the message names the place."""


@dataclass(frozen=True)
class Plans:
    negotiations: Mapping[str, Plan] = field(default_factory=dict)
    """Per dataset id."""
    transfers: Mapping[str, Plan] = field(default_factory=dict)
    """Per agreement id."""
    consumer_negotiations: Mapping[str, Plan] = field(default_factory=dict)
    """Per the provider's dataset id."""
    consumer_transfers: Mapping[str, Plan] = field(default_factory=dict)
    """Per the provider's agreement id."""

    def negotiation(
        self, dataset_id: str, trigger: str, *, consumer: bool = False
    ) -> tuple[str, ...]:
        if consumer:
            plan = self.consumer_negotiations.get(dataset_id, CONSUMER_NEGOTIATION)
        else:
            plan = self.negotiations.get(dataset_id, AUTOMATIC_NEGOTIATION)
        return tuple(plan.get(trigger, ()))

    def transfer(
        self, agreement_id: str, trigger: str, *, consumer: bool = False
    ) -> tuple[str, ...]:
        if consumer:
            plan = self.consumer_transfers.get(agreement_id, CONSUMER_TRANSFER)
        else:
            plan = self.transfers.get(agreement_id, AUTOMATIC_TRANSFER)
        return tuple(plan.get(trigger, ()))


def load_plans(path: Path | None) -> Plans:
    if path is None:
        return Plans()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"dsp.plans: cannot read {path}: {exc}") from exc
    for problem in _FILE.iter_errors(document):
        where = "/".join(map(str, problem.absolute_path)) or "(file)"
        raise PlanError(f"dsp.plans: {path} at {where}: {problem.message}")

    def tuples(plans: Mapping[str, Mapping[str, list[str]]]) -> dict[str, Plan]:
        return {key: {t: tuple(a) for t, a in plan.items()} for key, plan in plans.items()}

    return Plans(**{key: tuples(document.get(key, {})) for key in _FILE.schema["properties"]})
