"""Real services for the test suite: an Apache Kafka broker (KRaft) and a PostgreSQL server.

Both run on loopback in throwaway directories, started by the tests that need them (fixtures
`kafka_broker` and `postgres_server` in tests/conftest.py) or by hand:
`python -m tests.services kafka|postgres|prepare`.
"""

from tests.services import dsp_tck
from tests.services.kafka import KafkaBroker, KafkaUnavailable
from tests.services.ports import ServiceStartError, ServiceUnavailable
from tests.services.postgres import PostgresServer, PostgresUnavailable

__all__ = [
    "KafkaBroker",
    "KafkaUnavailable",
    "PostgresServer",
    "PostgresUnavailable",
    "ServiceStartError",
    "ServiceUnavailable",
    "dsp_tck",
]
