"""The Eclipse Dataspace TCK (DSP 2025-1) against a node on loopback.

The node is seeded the way the TCK expects: one published dataset per negotiation
scenario (its offer is the dataset's own), one agreement with the TCK's participant per
transfer scenario, and a plans file that gives each scenario's dataset or agreement the
provider reactions the scenario script asks for (offer first, terminate, suspend ...).
The scenarios where the provider simply follows its automatic plan (agree, finalise,
start) get no entry. For the consumer scenarios (CN_C, TP_C) the TCK plays the provider
and starts the node's consumer side through the admin API; the plans file scripts the
node's consumer reactions likewise. Every scenario group must pass.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from allmende.node.auth import mint_token
from allmende.node.catalog import service
from allmende.node.http.app import create_app
from allmende.node.runtime import Node
from allmende.node.usage.agreements import grant
from tests.conftest import _missing
from tests.ingest.conftest import dataset_body
from tests.services import ServiceUnavailable, dsp_tck
from tests.services.ports import free_port
from tests.support import make_node

PARTICIPANT = "TCK_PARTICIPANT"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

NEGOTIATION_PLANS: dict[str, dict[str, list[str]] | None] = {
    # scenario -> the provider's plan for its dataset; None: the automatic plan
    "cn_01_01": {"requested": ["offer"]},
    "cn_01_02": {"requested": ["offer"], "countered": ["terminate"]},
    "cn_01_03": {"requested": ["offer"], "accepted": ["agree"], "verified": ["finalize"]},
    "cn_01_04": None,
    "cn_02_01": {"requested": ["pause", "terminate"]},  # the TCK listens only after its request
    "cn_02_02": {},
    "cn_02_03": None,
    "cn_02_04": {"requested": ["offer"]},
    "cn_02_05": {"requested": ["offer", "pause", "terminate"]},
    "cn_02_06": {"requested": ["offer"], "accepted": ["terminate"]},
    "cn_02_07": {"requested": ["agree"], "verified": ["terminate"]},
    "cn_03_01": None,
    "cn_03_02": {"requested": ["offer"]},
    "cn_03_03": {"requested": ["offer"]},
    "cn_03_04": {"requested": ["offer"]},
}
TRANSFER_PLANS: dict[str, list[str] | None] = {
    "tp_01_01": ["start", "pause", "terminate"],
    "tp_01_02": ["start", "pause", "complete"],
    "tp_01_03": ["start", "pause", "suspend", "pause", "terminate"],
    "tp_01_04": ["start", "pause", "suspend", "pause", "start", "pause", "complete"],
    "tp_01_05": ["terminate"],
    "tp_02_01": None,
    "tp_02_02": None,
    "tp_02_03": None,
    "tp_02_04": None,
    "tp_02_05": [],
    "tp_03_01": [],
    "tp_03_02": [],
    "tp_03_03": None,
    "tp_03_04": None,
    "tp_03_05": None,
    "tp_03_06": None,
}


CONSUMER_NEGOTIATION_PLANS: dict[str, dict[str, list[str]] | None] = {
    # scenario -> the node's plan as consumer, for the TCK provider's dataset
    "cn_c_01_01": None,
    "cn_c_01_02": {"offered": ["counter"]},
    "cn_c_01_03": {"offered": ["terminate"]},
    "cn_c_01_04": None,
    "cn_c_02_01": None,
    "cn_c_02_02": {"requested": ["pause", "terminate"]},
    "cn_c_02_03": {"agreed": ["terminate"]},
    "cn_c_02_04": {"offered": []},
    "cn_c_02_05": None,
    "cn_c_02_06": None,
    "cn_c_03_01": None,
    "cn_c_03_02": {"offered": []},
    "cn_c_03_03": {"offered": []},
    "cn_c_03_04": None,
    "cn_c_03_05": None,
    "cn_c_03_06": {"offered": ["accept"], "agreed": []},
}
CONSUMER_TRANSFER_PLANS: dict[str, dict[str, list[str]] | None] = {
    "tp_c_01_01": None,
    "tp_c_01_02": None,
    "tp_c_01_03": None,
    "tp_c_01_04": None,
    "tp_c_01_05": None,
    "tp_c_02_01": {"started": ["terminate"]},
    "tp_c_02_02": {"started": ["complete"]},
    "tp_c_02_03": {"started": ["suspend", "pause", "terminate"]},
    "tp_c_02_04": None,
    "tp_c_02_05": {"requested": ["pause", "terminate"]},
    "tp_c_03_01": None,
    "tp_c_03_02": None,
    "tp_c_03_03": None,
    "tp_c_03_04": None,
    "tp_c_03_05": None,
    "tp_c_03_06": None,
}


def _dataset_id(scenario: str) -> str:
    return "tck-" + scenario.replace("_", "-")


async def seed(node: Node, plans_file: Path) -> dict[str, str]:
    """Datasets, agreements and plans; returns the TCK's per-scenario settings."""
    settings: dict[str, str] = {}
    catalog_dataset = "tck-catalog"
    for dataset_id in [catalog_dataset, *map(_dataset_id, NEGOTIATION_PLANS), "tck-transfers"]:
        await service.create(node, dataset_body(dataset_id))
    settings["CAT_01_01_DATASETID"] = catalog_dataset
    settings["CAT_01_02_DATASETID"] = catalog_dataset
    settings["CAT_01_03_DATASETID"] = "tck-no-such-dataset"
    plans: dict[str, dict[str, object]] = {"negotiations": {}, "transfers": {}}
    for scenario, plan in NEGOTIATION_PLANS.items():
        dataset_id = _dataset_id(scenario)
        settings[f"{scenario.upper()}_DATASETID"] = dataset_id
        settings[f"{scenario.upper()}_OFFERID"] = f"{node.base_url}/datasets/{dataset_id}#offer"
        if plan is not None:
            plans["negotiations"][dataset_id] = plan
    for scenario, steps in TRANSFER_PLANS.items():
        agreement = grant(node, "tck-transfers", PARTICIPANT)
        settings[f"{scenario.upper()}_AGREEMENTID"] = agreement.id
        if steps is not None:
            plans["transfers"][agreement.id] = {"requested": steps}
    plans["consumer_negotiations"] = {}
    plans["consumer_transfers"] = {}
    for scenario, plan in CONSUMER_NEGOTIATION_PLANS.items():
        settings[f"{scenario.upper()}_DATASETID"] = _dataset_id(scenario)
        if plan is not None:
            plans["consumer_negotiations"][_dataset_id(scenario)] = plan
    for scenario, plan in CONSUMER_TRANSFER_PLANS.items():
        agreement_id = f"urn:tck:{scenario}"
        settings[f"{scenario.upper()}_AGREEMENTID"] = agreement_id
        if plan is not None:
            plans["consumer_transfers"][agreement_id] = plan
    plans_file.write_text(json.dumps(plans, indent=2), encoding="utf-8")
    return settings


async def test_dsp_tck(tmp_path: Path) -> None:
    try:
        dsp_tck.prepare()
    except ServiceUnavailable as exc:
        _missing(f"the DSP TCK cannot run: {exc}")
    port, callback_port = free_port(), free_port()
    node = make_node(
        tmp_path / "node",
        port=port,
        environ={
            "ALLMENDE_DSP_PLANS": "dsp-plans.json",
            "ALLMENDE_DSP_CALLBACK_HOSTS": f"127.0.0.1:{callback_port},localhost:{callback_port}",
        },
    )
    scenario_settings = await seed(node, tmp_path / "node" / "dsp-plans.json")
    runner = web.AppRunner(create_app(node))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    # The TCK sends one Authorization header everywhere: to the protocol, where an admin
    # token negotiates as its subject, and to the admin API that starts the consumer side.
    token = mint_token(node.key, node.id, role="admin", subject=PARTICIPANT)
    base = node.base_url
    try:
        outcomes = await dsp_tck.run(
            {
                "dataspacetck.host": "127.0.0.1",
                "dataspacetck.port": str(callback_port),
                "dataspacetck.callback.address": f"http://127.0.0.1:{callback_port}",
                "dataspacetck.dsp.connector.agent.id": node.id,
                "dataspacetck.dsp.connector.http.url": f"{base}/dsp",
                "dataspacetck.dsp.connector.http.base.url": base,
                "dataspacetck.dsp.connector.http.headers.authorization": f"Bearer {token}",
                "dataspacetck.dsp.connector.negotiation.initiate.url": (
                    f"{base}/admin/dsp/negotiations"
                ),
                "dataspacetck.dsp.connector.transfer.initiate.url": f"{base}/admin/dsp/transfers",
                "dataspacetck.dsp.default.wait": "10",
                **scenario_settings,
            },
            tmp_path / "reports",
        )
    finally:
        await runner.cleanup()
    table = dsp_tck.table(outcomes)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dsp-tck.txt").write_text(table + "\n", encoding="utf-8")
    print("\nDSP TCK " + dsp_tck.VERSION + "\n" + table)
    failed = [o for o in outcomes if o.status == "failed"]
    assert not failed, "\n".join(f"{o.group} {o.test}: {o.message}" for o in failed)
    for group in dsp_tck.GROUPS.values():
        assert any(o.group == group and o.status == "passed" for o in outcomes), group
