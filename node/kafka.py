"""Connection settings for aiokafka clients, shared by health checks and federation."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka import AIOKafkaClient

from allmende.node.config import KafkaSection


def client_options(kafka: KafkaSection) -> dict[str, Any]:
    """aiokafka keyword arguments: bootstrap plus SASL/TLS exactly as configured."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = ssl.create_default_context(cafile=kafka.ssl_cafile or None)
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism or "SCRAM-SHA-512"
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password
    return options


async def ping(options: dict[str, Any], timeout: float = 3.0) -> None:
    """Raise unless the cluster answers a metadata request within `timeout` seconds."""
    client = AIOKafkaClient(**options, request_timeout_ms=int(timeout * 1000))
    try:
        async with asyncio.timeout(timeout):
            await client.bootstrap()
    finally:
        await client.close()
