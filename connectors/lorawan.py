"""What TTN and ChirpStack have in common: decoder results and gateway receptions.

Both network servers run a payload decoder (a "payload formatter" in TTN, a "codec" in
ChirpStack) and hand us its JSON object. Each scalar member becomes one observation;
nested objects become dotted field names (`{"air": {"t": 21}}` -> `air.t`); arrays and
nulls are reported, since neither is one measured value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connectors.model import Observation, Provenance, Rejection, value_problem
from connectors.validation import pointer


def decoded_observations(
    decoded: Mapping[str, Any],
    *,
    device_id: str,
    result_time: datetime,
    source: str,
    provenance: Provenance,
    path: str,
) -> tuple[list[Observation], list[Rejection]]:
    """One observation per scalar member of a decoder result, problems for the rest."""
    observations: list[Observation] = []
    rejections: list[Rejection] = []

    def walk(prefix: str, obj: Mapping[str, Any], at: str) -> None:
        for key, value in obj.items():
            where = at + pointer((key,))
            if isinstance(value, Mapping):
                walk(prefix + key + ".", value, where)
                continue
            problem = value_problem(value)
            if problem is not None:
                rejections.append(Rejection(where, problem, "bad-value"))
                continue
            observations.append(
                Observation(
                    device_id=device_id,
                    field=prefix + key,
                    value=value,
                    result_time=result_time,
                    source=source,
                    provenance=provenance,
                    path=where,
                )
            )

    walk("", decoded, path)
    return observations, rejections


def best_reception(
    receptions: Iterable[tuple[float | None, float | None]],
) -> tuple[float | None, float | None]:
    """(rssi, snr) of the gateway that heard the device best: highest RSSI wins."""
    best: tuple[float | None, float | None] = (None, None)
    for rssi, snr in receptions:
        if rssi is not None and (best[0] is None or rssi > best[0]):
            best = (rssi, snr)
    return best
