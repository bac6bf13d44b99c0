"""Source adapters: a payload in, observations out; then observations to SOSA quads.

- `connectors.ttn`, `connectors.chirpstack`, `connectors.generic`: pure functions from a
  parsed JSON payload to a `ConnectorResult` (schemas in the `*.schema.json` files);
- `connectors.csv_table`: CSV tables, streamed in chunks;
- `connectors.mqtt`: the same messages read from a network server's MQTT broker;
- `connectors.sosa`: observations + `DeviceMapping`s -> pyoxigraph quads;
- `connectors.model`: the shared types.

Nothing here imports `node`.
"""
