#!/usr/bin/env bash
# One-shot of compose.yaml, once every node's api serves: each node enters the Kreis's node
# directory (certificate fingerprint, endpoints) as a node administrator would, and the Kreis
# admits the nodes that wait for its approval (`kim node join`, `kim node approve`).
# Idempotent: a node the directory already has with the same certificate is left as it is.
#
# From the environment compose.yaml gives this service:
#   KIM_JOIN_AS     "node:organisation/user ..." who enters each node (a test user with the
#                   role node_admin: of the node's organisation, or of the Kreis for an
#                   organisation without a node administration of its own)
#   KIM_DIRECTORY_NODE, KIM_APPROVER   the Kreis's node and its node administrator (org/user)
set -euo pipefail

for entry in $KIM_JOIN_AS; do
  node=${entry%%:*}
  echo "== Knoten $node tritt dem Verbund bei (eingetragen von ${entry#*:})"
  kim node join "$node" --dev-user "${entry#*:}"
done
for entry in $KIM_JOIN_AS; do
  node=${entry%%:*}
  if [ "$node" != "$KIM_DIRECTORY_NODE" ]; then
    kim node approve "$node" --via "$KIM_DIRECTORY_NODE" --dev-user "$KIM_APPROVER" \
      --reason "Aufnahme im Demo-Verbund (Docker) geprüft"
  fi
done
echo "== Alle Knoten im Knotenverzeichnis des Kreises freigegeben"
