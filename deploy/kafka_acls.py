"""Kafka ACLs for the parties outside Amtsweg: what an authority and a portal may do.

A receiving authority reads its own delivery topic (``amtsweg.delivery.<authority-id>``)
in its own consumer group and writes receipts; a portal writes its own intake topic
(``amtsweg.intake.<portal-id>``). Nothing else: the broker's ``StandardAuthorizer``
refuses every other topic. :func:`authority_acls` and :func:`portal_acls` say which ACLs
those are; :func:`create_acls` creates them (``kafka-acls.sh --add`` does the same).

aiokafka's admin client has the ``CreateAcls`` request but no method for it; the request
is sent as its own methods send theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from contracts import topics
from contracts.kafka_security import KafkaSecurity, client_options

ResourceType = Literal["TOPIC", "GROUP", "CLUSTER"]
Operation = Literal["READ", "WRITE", "DESCRIBE", "CREATE", "ALL"]

_RESOURCE = {"TOPIC": 2, "GROUP": 3, "CLUSTER": 4}
_OPERATION = {"ALL": 2, "READ": 3, "WRITE": 4, "CREATE": 5, "DESCRIBE": 8}
_LITERAL = 3
_ALLOW = 3


class KafkaAclError(Exception):
    """The broker refused to create an ACL (no authorizer, or no right to alter ACLs)."""


@dataclass(frozen=True)
class Acl:
    """``principal`` may do ``operation`` on the resource named exactly ``name``."""

    principal: str
    resource_type: ResourceType
    name: str
    operation: Operation


def authority_acls(authority_id: str, principal: str) -> list[Acl]:
    """What a receiving authority needs: read its delivery topic in its group, write receipts."""
    delivery = topics.delivery_topic(authority_id)
    return [
        Acl(principal, "TOPIC", delivery, "READ"),
        Acl(principal, "TOPIC", delivery, "DESCRIBE"),
        Acl(principal, "GROUP", f"amtsweg-authority-{authority_id}", "READ"),
        Acl(principal, "TOPIC", topics.RECEIPTS, "WRITE"),
        Acl(principal, "TOPIC", topics.RECEIPTS, "DESCRIBE"),
    ]


def portal_acls(portal_id: str, principal: str) -> list[Acl]:
    """What a portal needs to post over Kafka: write its own intake topic."""
    intake = topics.portal_intake_topic(portal_id)
    return [Acl(principal, "TOPIC", intake, "WRITE"), Acl(principal, "TOPIC", intake, "DESCRIBE")]


async def create_acls(
    bootstrap_servers: str, acls: Iterable[Acl], *, security: KafkaSecurity | None = None
) -> None:
    """Create ``acls`` (allow, any host); an ACL that exists already is no error."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="amtsweg-acls", **client_options(security)
    )
    await admin.start()
    try:
        for acl in acls:
            request = CreateAclsRequest(
                _RESOURCE[acl.resource_type],
                acl.name,
                _LITERAL,
                acl.principal,
                "*",
                _OPERATION[acl.operation],
                _ALLOW,
            )
            response = await admin._send_request(request)  # private: see the module docstring
            for code, message in response.creation_responses:
                if code:
                    msg = f"{acl}: refused by the broker (error {code}: {message})"
                    raise KafkaAclError(msg)
    finally:
        await admin.close()
