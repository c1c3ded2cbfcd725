"""The node's service queues are quorum queues (issue 17, item 1; docs/decisions.md), and the
broker step that turns an existing node's classic queues into quorum queues without losing or
doubling a message.

Which queues: every durable queue the runtime declares for a service - the nameko event handler
queues (`evt-<source>-<type>--<service>.<method>`, kimnetz.runtime.consume) and the shared retry
queues (`kim.retry.<ms>ms`, a message TTL and dead-lettering to the default exchange, both
supported by quorum queues since RabbitMQ 3.10). Dead letters are kept in the node database,
not in a broker queue. A quorum queue is replicated over the members of a RabbitMQ cluster
(three on Kubernetes) and is never exclusive or auto-delete; the runtime declares none such.

Why a migration: a queue's type is fixed when it is declared. A node that ran an earlier release
has classic queues of the same names, and declaring them again as quorum queues fails with
PRECONDITION_FAILED (inequivalent arg 'x-queue-type'). `to_quorum` (run by `kim node migrate`,
with the node's worker stopped) moves each classic queue through a quorum "holding" queue:

1. Declare the holding queue and give it the classic queue's bindings, then unbind the classic
   queue: from here on new messages reach only the holding queue (between the two steps a
   message reaches both).
2. Note the message ids the holding queue already has (read without acknowledging, given back).
3. Move each message of the classic queue: published to the holding queue with publisher
   confirms and mandatory routing (kimnetz.runtime.amqp), then acknowledged; one whose id the
   holding queue already has (the window of step 1, or a run that died between publish and
   acknowledge) is acknowledged without being published. None is lost: a message is
   acknowledged only once it is confirmed elsewhere; none is doubled: ids are compared.
4. Delete the classic queue once it is empty (a message that arrived meanwhile is moved too),
   declare the quorum queue of the same name, and move the holding queue into it the same way.

Retry queues keep the routing key a message was published with (it names the handler queue the
message is dead-lettered back to), so their messages are republished through the retry queue's
own fanout exchange with their routing key. Their holding queues have no TTL: while the handler
queues are moved, nothing expires into them (dead-lettering into a queue that is briefly gone
would drop the message); the retry queues are finished last. An interrupted run is finished by
the next one (holding queues left behind are moved on first).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Exchange

from kimnetz.runtime.amqp import Publisher
from kimnetz.runtime.broker_admin import BrokerAdmin, vhost_of

#: The argument that makes a queue a quorum queue.
QUORUM: Mapping[str, Any] = {"x-queue-type": "quorum"}

#: The service queues of the runtime: nameko's event handler queues and the retry queues.
EVENT_QUEUE = re.compile(r"^evt-.+$")
RETRY_QUEUE = re.compile(r"^kim\.retry\.(\d+)ms$")
#: Suffix of the quorum queue a classic queue is held in while it is migrated.
HOLDING_SUFFIX = ".quorum-migration"


def quorum(arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`arguments` of a queue declaration, as a quorum queue."""
    return {**(arguments or {}), **QUORUM}


def is_service_queue(name: str) -> bool:
    return bool(EVENT_QUEUE.match(name) or RETRY_QUEUE.match(name))


def declared_arguments(name: str) -> dict[str, Any]:
    """The arguments the runtime declares the service queue `name` with."""
    retry = RETRY_QUEUE.match(name)
    if retry:
        from kimnetz.runtime.consume import retry_entities  # consume imports this module

        queue = retry_entities(int(retry.group(1)))[1]
        return dict(queue.queue_arguments or {})
    return quorum()


@dataclass(frozen=True)
class Moved:
    """One queue moved: from where to where, messages moved, duplicates dropped."""

    source: str
    target: str
    messages: int
    duplicates: int


class QueueInUse(RuntimeError):
    """A queue to migrate has consumers: the node's worker (of the old release) still runs."""


def classic_service_queues(admin: BrokerAdmin, vhost: str) -> list[str]:
    """Names of the service queues of `vhost` that are still classic queues."""
    return sorted(str(q["name"]) for q in admin.queues(vhost)
                  if is_service_queue(str(q["name"])) and q.get("type", "classic") == "classic")


def to_quorum(amqp_uri: str, admin: BrokerAdmin,
              on_move: Callable[[Moved], None] | None = None) -> list[Moved]:
    """Make every service queue of the node's vhost (the one `amqp_uri` names) a quorum queue,
    moving its messages (see the module's note). Idempotent: a vhost of quorum queues only is
    left as it is. Raises `QueueInUse` while a classic queue has consumers."""
    vhost = vhost_of(amqp_uri)
    listed = {str(q["name"]): q for q in admin.queues(vhost)}
    classic = classic_service_queues(admin, vhost)
    busy = [name for name in classic if int(str(listed[name].get("consumers") or 0))]
    if busy:
        raise QueueInUse("Warteschlangen mit Verbrauchern, erst den Worker des Knotens stoppen "
                         f"(kim node down): {', '.join(busy)}")
    done: list[Moved] = []

    def record(moved: Moved) -> None:
        done.append(moved)
        if on_move is not None:
            on_move(moved)

    holding = {name[:-len(HOLDING_SUFFIX)] for name in listed if name.endswith(HOLDING_SUFFIX)}
    with Connection(amqp_uri, connect_timeout=10) as connection, Publisher(amqp_uri) as publisher:
        mover = _Mover(connection, publisher, admin, vhost)
        # 1. Retry queues into holding queues without a TTL: nothing expires into the handler
        #    queues while those are moved.
        for name in classic:
            if RETRY_QUEUE.match(name):
                record(mover.move(name, name + HOLDING_SUFFIX, quorum()))
                holding.add(name)
        # 2. Handler queues: into their holding queue and straight on into the quorum queue.
        for name in classic:
            if EVENT_QUEUE.match(name):
                record(mover.move(name, name + HOLDING_SUFFIX, quorum()))
                holding.add(name)
        for name in sorted(holding, key=lambda n: bool(RETRY_QUEUE.match(n))):  # 3. retry last
            record(mover.move(name + HOLDING_SUFFIX, name, declared_arguments(name)))
    return done


class _Mover:
    def __init__(self, connection: Connection, publisher: Publisher, admin: BrokerAdmin,
                 vhost: str) -> None:
        self.connection = connection
        self.publisher = publisher
        self.admin = admin
        self.vhost = vhost

    def move(self, source: str, target: str, arguments: Mapping[str, Any]) -> Moved:
        bindings = [b for b in self.admin.bindings(self.vhost, source) if b["source"]]
        channel = self.connection.channel()
        try:
            channel.queue_declare(queue=target, durable=True, auto_delete=False, exclusive=False,
                                  arguments=dict(arguments))
            for b in bindings:
                channel.queue_bind(queue=target, exchange=b["source"], routing_key=b["routing_key"],
                                   arguments=b.get("arguments") or {})
            for b in bindings:
                channel.queue_unbind(queue=source, exchange=b["source"], routing_key=b["routing_key"],
                                     arguments=b.get("arguments") or {})
        finally:
            channel.close()
        known = self._message_ids(target)
        retry = RETRY_QUEUE.match(target) or RETRY_QUEUE.match(source.removesuffix(HOLDING_SUFFIX))
        via = Exchange(f"kim.retry.{retry.group(1)}ms", type="fanout", durable=True) if retry \
            else Exchange("")
        moved = duplicates = 0
        for _ in range(10):  # a message may arrive by name while the queue is drained
            got = self._drain(source, target, via, known)
            moved, duplicates = moved + got[0], duplicates + got[1]
            channel = self.connection.channel()
            try:
                if source.endswith(HOLDING_SUFFIX):
                    # Quorum queues refuse if-empty deletes; nothing is routed to a holding
                    # queue any more, and none publishes to it by name, so counting is enough.
                    if channel.queue_declare(queue=source, passive=True).message_count:
                        continue
                    channel.queue_delete(queue=source)
                else:
                    channel.queue_delete(queue=source, if_empty=True)
                break
            except Exception as exc:  # PRECONDITION_FAILED: not empty; the channel is closed
                if "PRECONDITION_FAILED" not in str(exc) and "406" not in str(exc):
                    raise
            finally:
                with contextlib.suppress(Exception):  # closed by the broker's refusal
                    channel.close()
        else:
            raise RuntimeError(f"{source}: keeps receiving messages; is a worker still running?")
        return Moved(source, target, moved, duplicates)

    def _message_ids(self, queue: str) -> set[str]:
        """The ids of the messages in `queue`, read without acknowledging (given back when the
        channel closes)."""
        channel = self.connection.channel()
        ids: set[str] = set()
        try:
            while (message := channel.basic_get(queue=queue, no_ack=False)) is not None:
                message_id = message.properties.get("message_id")
                if message_id:
                    ids.add(str(message_id))
        finally:
            channel.close()
        return ids

    def _drain(self, source: str, target: str, via: Exchange, known: set[str]) -> tuple[int, int]:
        channel = self.connection.channel()
        moved = duplicates = 0
        try:
            while (message := channel.basic_get(queue=source, no_ack=False)) is not None:
                properties = message.properties
                message_id = properties.get("message_id")
                if message_id and str(message_id) in known:
                    duplicates += 1
                else:
                    routing_key = (str(message.delivery_info.get("routing_key", ""))
                                   if via.name else target)
                    self.publisher.send(
                        via, routing_key, bytes(message.body),
                        message_id=str(message_id) if message_id else None,
                        headers=dict(properties.get("application_headers") or {}),
                        content_type=properties.get("content_type") or "application/octet-stream",
                        content_encoding=properties.get("content_encoding") or "binary")
                    if message_id:
                        known.add(str(message_id))
                    moved += 1
                channel.basic_ack(message.delivery_tag)
        finally:
            channel.close()
        return moved, duplicates
