#!/bin/sh
# First start: create the node folder (configuration and signing key) in the /data volume.
# Every later start keeps it. Settings come from ALLMENDE_* environment variables.
set -eu
if [ ! -f /data/allmende.toml ]; then
  allmende init /data --name "${VILLAGE_NAME:-Allmende}" --ags "${VILLAGE_AGS:-01054}" \
    --id "${VILLAGE_ID:-https://allmende.example/}" --host 0.0.0.0 --port 8700 \
    --base-url "${VILLAGE_URL:-http://localhost:8700}"
fi
# Trust the neighbours named in VILLAGE_PEERS ("id|jwks_url|base_url ..."); their keys are
# fetched from the JWKS URL when their first event arrives.
for peer in ${VILLAGE_PEERS:-}; do
  id=${peer%%|*}; rest=${peer#*|}
  allmende peer add /data "$id" --jwks-url "${rest%%|*}" --base-url "${rest#*|}" >/dev/null
done
exec allmende serve /data
