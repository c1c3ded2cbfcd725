#!/usr/bin/env bash
# One-shot of compose.yaml, before the nodes start: what `kim demo` does on one machine, for
# nodes that each have their own MongoDB and RabbitMQ broker (docs/deployment.md).
#
#   1. applies the federation file to Keycloak (realm, organisations, home IdPs, test users,
#      a service account per node; the test users' passwords go to $KIM_HOME/identity),
#   2. `kim node init` per node: the dev CA issues the node's certificate (its node id is its
#      host name in the compose network), the service account's secret is fetched into the
#      node's folder, the node's vhost is made on the node's OWN broker, node.env written,
#   3. `kim node link`: each receiving broker gets a federation upstream to its peers' brokers.
#
# Idempotent: a second `docker compose up` keeps the CA, certificates and passwords.
# Everything comes from the environment compose.yaml gives this service:
#   KIM_NODES            node ids (as in the federation file)
#   KIM_DIRECTORY_NODE   the node that keeps the node directory (the Kreis)
#   KIM_LINKS            "receiver:peer,peer receiver:peer ..." (who receives whose events)
#   KIM_FEDERATION_FILE, KIM_GRPC_PORT, KIM_FEDERATION_PORT, KIM_HOME
#   KIM_RABBITMQ_ADMIN   user:password of the brokers' administrator (management API only: each
#                        node gets a user of its own, each federation link one at the peer)
# Each node's broker is <node>-rabbitmq and its api <node> (the compose service names).
set -euo pipefail

passwords="$KIM_HOME/identity/passwords.json"
echo "== Verbunddatei $KIM_FEDERATION_FILE auf Keycloak anwenden"
kim identity apply "$KIM_FEDERATION_FILE" --passwords "$passwords"

for node in $KIM_NODES; do
  directory=""
  if [ "$node" != "$KIM_DIRECTORY_NODE" ]; then
    directory="$KIM_DIRECTORY_NODE:$KIM_FEDERATION_PORT"
  fi
  echo "== Knoten $node: Zertifikat, Dienstkonto, vhost auf dem eigenen Broker $node-rabbitmq"
  AMQP_URI="amqp://$node-rabbitmq:5672/" \
  RABBITMQ_MANAGEMENT_URL="http://$node-rabbitmq:15672" \
    kim node init "$node" --grpc-port "$KIM_GRPC_PORT" --federation-file "$KIM_FEDERATION_FILE" \
      --federation-port "$KIM_FEDERATION_PORT" --directory "$directory"
  # Where the node is reached in the compose network: its api's service name, which its
  # certificate names. node.env is read by the command-line steps (join, link, story); the
  # api itself binds 0.0.0.0 (its own environment, set in compose.yaml).
  echo "KIM_GRPC_HOST=$node" >>"$KIM_HOME/nodes/$node/node.env"
done

for link in $KIM_LINKS; do
  receiver=${link%%:*}
  echo "== $receiver empfängt die Ereignisse von ${link#*:}"
  # shellcheck disable=SC2046 # the peers are separate arguments
  kim node link "$receiver" $(echo "${link#*:}" | tr ',' ' ')
done
echo "== Verbund eingerichtet"
