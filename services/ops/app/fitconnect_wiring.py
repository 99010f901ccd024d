"""The FIT-Connect facade's ports, wired to the other services' settings and data.

``services.fitconnect`` imports no other service; here its client credentials are checked
against the portals' and authorities' token hashes (``AMTSWEG_PORTAL_TOKENS``,
``AMTSWEG_DELIVERY_AUTHORITY_TOKENS``), its destinations come from routing's directory and
validation's catalog, and the destinations' private keys are wrapped by the vault's KEK.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from contracts.messages import Receipt
from contracts.problems import Problem
from contracts.receipts import ReceiptMessage
from events.ledger import Ledger, SubmissionNotFoundError, TrailEntry
from events.submission import Submission
from events.vault import KeyEncryptionKey, Vault
from services.delivery.projector import DeliveryProjector
from services.delivery.receipts import record_receipt
from services.delivery.recipients import Recipients
from services.fitconnect.answers import AuthorityAnswer
from services.fitconnect.answers_http import AnswerPorts, FollowUpAnswered
from services.fitconnect.callback_table import CallbackTable
from services.fitconnect.certificates import InstanceCA, instance_ca, operator_key, x5c_of
from services.fitconnect.clients import Client, ClientCredentials, ClientKind
from services.fitconnect.destination_admin_http import DestinationAdminPorts
from services.fitconnect.destination_directory import (
    Destination,
    DestinationDirectory,
    DestinationService,
    SubmissionSchema,
    directory_of,
)
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.destinations_http import SigningKeys
from services.fitconnect.event_log import Trail
from services.fitconnect.events_http import EventLogPorts
from services.fitconnect.handover import Intake
from services.fitconnect.http import FitConnectPorts
from services.fitconnect.key_rotation import KeyRotation
from services.fitconnect.key_table import KeyTable
from services.fitconnect.set_keys import SetKeys, set_keys
from services.fitconnect.submission_table import SubmissionTable
from services.fitconnect.submissions_http import SendingPorts
from services.fitconnect.token_keys import token_keys
from services.fitconnect.tokens import Tokens
from services.intake.auth import token_hash
from services.ops.app.fitconnect_pickup import follow_up_of, pickup_ports
from services.ops.app.settings import Settings
from services.routing.directory import Directory
from services.validation.catalog import SchemaCatalog
from services.validation.entries import JSON, XML

NO_EMAIL = "keine-angabe@amtsweg.invalid"
"""A destination's contact e-mail where the directory has none (a reserved domain)."""


def ledger_trail(ledger: Ledger) -> Trail:
    """The ledger's trail of a submission; empty while it knows nothing of it."""

    def trail(submission_id: uuid.UUID) -> list[TrailEntry]:
        try:
            return ledger.trail(submission_id)
        except SubmissionNotFoundError:
            return []

    return trail


def answer_ports(
    table: Callable[[], SubmissionTable],
    ledger: Ledger,
    recipients: Recipients,
    projector: Callable[[], DeliveryProjector] | None = None,
) -> AnswerPorts:
    """Subscribers' SETs recorded as delivery records a native receipt (``record_receipt``);
    given delivery's read model, also those answering a follow-up delivery picked up."""

    def submission(submission_id: uuid.UUID) -> Submission | None:
        try:
            return ledger.get_submission(submission_id)
        except SubmissionNotFoundError:
            return None

    def verification_key(authority_id: str) -> dict[str, Any] | None:
        recipient = recipients.get(authority_id)
        return recipient.verification_key() if recipient is not None else None

    def record(answer: AuthorityAnswer, authority_id: str, delivery_id: str) -> str | None:
        receipt = Receipt(
            delivery_id=delivery_id,
            submission_id=answer.submission_id,
            authority_id=authority_id,
            outcome="accepted" if answer.outcome == "accepted" else "rejected",
            problems=[Problem.model_validate(problem) for problem in answer.problems],
        )
        message = ReceiptMessage(receipt, answer.compact)
        result = record_receipt(ledger, recipients, message, authority_id)
        return None if result.refusal is None else result.refusal.value

    def follow_up(delivery_id: uuid.UUID) -> FollowUpAnswered | None:
        found = None if projector is None else follow_up_of(ledger, projector)(delivery_id)
        parent = None if found is None else found.submission
        if found is None or parent is None or parent.authority_id is None:
            return None
        announced = table().get(str(parent.id))
        return FollowUpAnswered(
            submission_id=str(parent.id),
            case_id=announced.case_id if announced else parent.case_id,
            authority_id=parent.authority_id,
            outcome=found.outcome,
        )

    return AnswerPorts(
        table=table,
        submission=submission,
        verification_key=verification_key,
        record=record,
        follow_up=follow_up,
    )


def client_credentials(
    portal_tokens: Mapping[str, str], authority_tokens: Mapping[str, str]
) -> ClientCredentials:
    """Portals (senders) and authorities (subscribers) by id and token; an id that is both
    a portal and an authority is the one whose token the secret is (the portal if both)."""

    def check(client_id: str, client_secret: str) -> Client | None:
        presented = token_hash(client_secret)
        sender = _matches(presented, portal_tokens.get(client_id))
        subscriber = _matches(presented, authority_tokens.get(client_id))
        if sender:
            return Client(client_id, ClientKind.SENDER)
        if subscriber:
            return Client(client_id, ClientKind.SUBSCRIBER)
        return None

    return check


def _matches(presented: str, expected: str | None) -> bool:
    """Constant time in the hash; a client id without a token compares against itself."""
    return hmac.compare_digest(presented, (expected or "").lower()) and expected is not None


def token_service(settings: Settings) -> Callable[[], Tokens]:
    """The token service, its keys read (or made, in development) on first use."""
    fitconnect = settings.fitconnect

    @cache
    def tokens() -> Tokens:
        keys = token_keys(
            fitconnect.token_keys_file,
            settings.run.data_dir,
            development=settings.run.development,
        )
        return Tokens(
            keys,
            issuer=fitconnect.token_issuer,
            lifetime_seconds=fitconnect.token_lifetime_seconds,
        )

    return tokens


def set_key_set(settings: Settings) -> Callable[[], SetKeys]:
    """The event log's signing keys, read (or made, in development) on first use; a key
    without an ``x5c`` of its own is certified by the instance CA (once per process)."""

    fitconnect = settings.fitconnect

    @cache
    def keys() -> SetKeys:
        def certify(kid: str, public_key: rsa.RSAPublicKey) -> list[str]:
            ca = instance_ca(
                fitconnect.ca_cert_file,
                fitconnect.ca_key_file,
                settings.run.data_dir,
                development=settings.run.development,
            )
            return x5c_of(ca.certify_signing(public_key, kid, fitconnect.certificate_days))

        return set_keys(
            fitconnect.set_keys_file,
            settings.run.data_dir,
            development=settings.run.development,
            certify=certify,
        )

    return keys


def destination_directory(
    directory: Callable[[], Directory], catalog: Callable[[], SchemaCatalog]
) -> DestinationDirectory:
    """Destinations from the directory's competences and the catalog's services, built on
    first use (the catalog compiles every schema)."""

    @cache
    def built() -> DestinationDirectory:
        services = catalog().services
        schemas = {
            key: tuple(
                SubmissionSchema(uri, XML if entry.is_xml else JSON)
                for uri, entry in service.schemas.items()
            )
            for key, service in services.items()
        }
        areas: dict[str, dict[str, list[str]]] = {}
        for competence in directory().competences:
            offered = areas.setdefault(competence.authority, {})
            for key in competence.services:
                if key in schemas and competence.area not in offered.setdefault(key, []):
                    offered[key].append(competence.area)
        authorities = {
            authority: tuple(
                DestinationService(key, tuple(sorted(regions)), schemas[key])
                for key, regions in sorted(offered.items())
            )
            for authority, offered in areas.items()
        }
        every = tuple(DestinationService(key, (), schemas[key]) for key in sorted(schemas))
        return directory_of(authorities, every)

    def lookup(destination: uuid.UUID) -> Destination | None:
        return built()(destination)

    return lookup


@dataclass(frozen=True)
class TablePlace:
    """Where the FIT-Connect tables live: a SQLite file, or a PostgreSQL schema."""

    sqlite: Path | None = None
    conninfo: str | None = None
    schema: str = "public"


def table_place(settings: Settings) -> TablePlace:
    """Where the key store is, as the vault chooses it (``AMTSWEG_KEYSTORE_URL``, else beside
    the ledger): ``keys.sqlite3`` beside a SQLite ledger, the ledger's PostgreSQL database
    and schema, or the key store's own SQLite file or PostgreSQL database and schema."""
    url = settings.vault.keystore_url
    if url is None:
        path = settings.ledger.sqlite_path()
        if path is not None:
            return TablePlace(sqlite=path.parent / "keys.sqlite3")
        assert settings.ledger.ledger_url is not None
        return TablePlace(conninfo=settings.ledger.ledger_url, schema=settings.ledger.ledger_schema)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return TablePlace(sqlite=Path(unquote(parts.path[1:])))
    return TablePlace(conninfo=url, schema=settings.vault.keystore_schema)


def key_table(settings: Settings) -> KeyTable:
    """The destinations' key table, where the vault's key store is."""
    place = table_place(settings)
    if place.sqlite is not None:
        return KeyTable.sqlite(place.sqlite)
    assert place.conninfo is not None
    return KeyTable.postgres(place.conninfo, place.schema)


def submission_table(settings: Settings) -> Callable[[], SubmissionTable]:
    """The announced submissions' table, beside the destinations' keys (opened on first use)."""

    @cache
    def table() -> SubmissionTable:
        place = table_place(settings)
        if place.sqlite is not None:
            return SubmissionTable.sqlite(place.sqlite)
        assert place.conninfo is not None
        return SubmissionTable.postgres(place.conninfo, place.schema)

    return table


def callback_table(
    settings: Settings, kek: Callable[[], KeyEncryptionKey]
) -> Callable[[], CallbackTable]:
    """The callbacks' table, beside the destinations' keys (opened on first use), its
    secrets sealed under the vault's KEK."""

    @cache
    def table() -> CallbackTable:
        place = table_place(settings)
        if place.sqlite is not None:
            return CallbackTable.sqlite(place.sqlite, kek())
        assert place.conninfo is not None
        return CallbackTable.postgres(place.conninfo, place.schema, kek())

    return table


def contact_information(
    directory: Callable[[], Directory], fallback_email: str = ""
) -> Callable[[str], dict[str, Any]]:
    """An authority's ``ContactInformation`` from the directory (loaded on first use): empty
    where it has none, and for an e-mail address it lacks ``fallback_email``
    (``AMTSWEG_FITCONNECT_CONTACT_EMAIL``) or else :data:`NO_EMAIL` (a reserved
    ``.invalid`` address, RFC 2606), since the spec requires one."""
    fallback = fallback_email or NO_EMAIL
    loaded = cache(directory)

    def contact(authority_id: str) -> dict[str, Any]:
        found = loaded().authority(authority_id)
        if found is None:
            return {"legalName": authority_id, "address": "", "phone": "", "email": fallback}
        given = found.contact
        return {
            "legalName": found.name,
            "address": given.address or "",
            "phone": given.phone or "",
            "email": given.email or fallback,
        }

    return contact


def certificate_authority(settings: Settings) -> Callable[[], InstanceCA]:
    """The instance CA, read (or made, in development) on first use."""
    fitconnect = settings.fitconnect

    @cache
    def ca() -> InstanceCA:
        return instance_ca(
            fitconnect.ca_cert_file,
            fitconnect.ca_key_file,
            settings.run.data_dir,
            development=settings.run.development,
        )

    return ca


def signing_keys(recipients: Recipients, ca: Callable[[], InstanceCA], days: int) -> SigningKeys:
    """A destination's signing key: its authority's verification key in the directory (RSA),
    as the keys endpoint answers it (``alg: PS512``, ``key_ops: ["verify"]``, ``x5c`` the
    directory's or, without one, a certificate of the instance CA), made once per kid."""
    made: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}

    def signing(destination: Destination, kid: str) -> dict[str, Any] | None:
        recipient = recipients.get(destination.authority_id or "")
        jwk = recipient.verification_key() if recipient is not None else None
        if jwk is None or jwk.get("kty") != "RSA" or jwk.get("kid") != kid:
            return None
        cached = made.get((destination.destination_id, kid))
        if cached is not None:
            return cached
        public: dict[str, Any] = {name: jwk[name] for name in ("kty", "n", "e") if name in jwk}
        chain = jwk.get("x5c")
        if not chain:
            key = RSAKey.import_key({k: str(v) for k, v in public.items()}).raw_value
            assert isinstance(key, rsa.RSAPublicKey)
            chain = x5c_of(ca().certify(key, destination.destination_id, days, signing=True))
        answer = public | {"kid": kid, "alg": "PS512", "key_ops": ["verify"], "x5c": chain}
        made[(destination.destination_id, kid)] = answer
        return answer

    return signing


def destination_keys(
    settings: Settings, kek: Callable[[], KeyEncryptionKey]
) -> Callable[[], DestinationKeys]:
    """The destinations' keys, their table and CA opened on first use."""
    fitconnect = settings.fitconnect
    authority = certificate_authority(settings)

    @cache
    def keys() -> DestinationKeys:
        ca = authority()

        def material(
            destination: uuid.UUID,
        ) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
            given = operator_key(fitconnect.destination_keys_folder, destination)
            if given is not None:
                return given
            private = rsa.generate_private_key(65537, fitconnect.rsa_bits)
            return private, ca.certify(
                private.public_key(), destination, fitconnect.certificate_days
            )

        return DestinationKeys(key_table(settings), kek(), material, x5c_of)

    return keys


def key_rotation(settings: Settings, kek: Callable[[], KeyEncryptionKey]) -> KeyRotation:
    """The destinations' keys with the announced submissions, for an operator's rotation."""
    return KeyRotation(destination_keys(settings, kek)(), submission_table(settings)())


def fit_connect_ports(
    settings: Settings,
    *,
    directory: Callable[[], Directory],
    catalog: Callable[[], SchemaCatalog],
    kek: Callable[[], KeyEncryptionKey],
    vault: Callable[[], Vault] | None = None,
    intake: Intake | None = None,
    trail: Trail | None = None,
    pickup: tuple[Ledger, Callable[[], DeliveryProjector]] | None = None,
    ledger: Ledger | None = None,
    recipients: Recipients | None = None,
    table: Callable[[], SubmissionTable] | None = None,
) -> FitConnectPorts:
    """Everything the FIT-Connect routes need (sending only given a vault and an intake,
    the event log only given the ledger's trails, pickup only given a vault, the ledger
    and delivery's read model, subscribers' answers only given the ledger and delivery's
    recipients)."""
    table = table or submission_table(settings)
    sending = None
    event_log = None
    subscribing = None
    if pickup is not None and vault is not None:
        pickup_ledger, projector = pickup
        subscribing = pickup_ports(pickup_ledger, vault, projector, table)
    answers = None
    admin = None
    signing = None
    callbacks = callback_table(settings, kek)
    insecure = settings.run.development
    if ledger is not None and recipients is not None:
        answers = answer_ports(table, ledger, recipients, pickup[1] if pickup else None)
        authority = certificate_authority(settings)
        signing = signing_keys(recipients, authority, settings.fitconnect.certificate_days)
        admin = DestinationAdminPorts(
            callbacks=callbacks,
            contact=contact_information(directory, settings.fitconnect.contact_email),
            verification_key=answers.verification_key,
            insecure_callbacks=insecure,
        )
    if trail is not None:
        event_log = EventLogPorts(table=table, trail=trail, issuer=settings.fit_connect_url())
    if vault is not None and intake is not None:
        sending = SendingPorts(
            table=table,
            vault=vault,
            intake=intake,
            max_part_bytes=settings.intake.max_attachment_bytes,
            max_metadata_bytes=settings.intake.max_metadata_bytes,
            max_attachments=settings.intake.max_attachments,
            callbacks=callbacks,
            insecure_callbacks=insecure,
        )
    return FitConnectPorts(
        tokens=token_service(settings),
        credentials=client_credentials(
            settings.intake.portal_tokens, settings.delivery.authority_tokens
        ),
        sender_scopes=settings.fitconnect.sender_scopes_of,
        destinations=destination_directory(directory, catalog),
        keys=destination_keys(settings, kek),
        sending=sending,
        set_keys=set_key_set(settings),
        event_log=event_log,
        signing_keys=signing,
        pickup=subscribing,
        destination_admin=admin,
        answers=answers,
    )
