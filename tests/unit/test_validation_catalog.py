"""The schema catalog: a folder of manifests and schemas, versioned by its content."""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contracts.assurance import NOTHING_PRESENTED
from services.validation.catalog import CatalogError, SchemaCatalog, load_catalog
from services.validation.decide import Declared, Invalid, Valid, decide
from services.validation.manifest import MANIFEST_SCHEMA
from services.validation.schemas import XsdChecker
from services.validation.settings import DEFAULT_CATALOG, DEFAULT_REGIONS
from tests.support.validation import (
    BUERGERGELD,
    GRUNDSICHERUNG,
    RECEIVED_AT,
    SCHRIFTGUT,
    SOZIAL_SERVICES,
    TRINKWASSER,
    XDOMEA_URI,
    bundled_catalog,
    slugs,
)

NEW_SERVICE = "99900000000999"


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled catalog folder."""
    return Path(shutil.copytree(DEFAULT_CATALOG, tmp_path / "catalog"))


def _manifest(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / "services" / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_the_bundled_catalog_has_every_service() -> None:
    catalog = bundled_catalog()

    expected = [*SOZIAL_SERVICES.values(), GRUNDSICHERUNG, TRINKWASSER, SCHRIFTGUT]
    assert sorted(catalog.services) == sorted(expected)
    assert all(service.placeholder_key for service in catalog.services.values())
    assert re.fullmatch(r"2026\.11\+[0-9a-f]{16}", catalog.version)


def test_the_routing_seed_keys_are_the_catalogs() -> None:
    directory = json.loads((DEFAULT_REGIONS.parent / "directory.json").read_text(encoding="utf-8"))

    assert set(directory["services"]) <= set(bundled_catalog().services)


def test_compiled_schemas_are_shared_between_services() -> None:
    catalog = bundled_catalog()
    first = catalog.services[BUERGERGELD].schemas[XDOMEA_URI].checker
    second = catalog.services[SCHRIFTGUT].schemas[XDOMEA_URI].checker

    assert isinstance(first, XsdChecker)
    assert isinstance(second, XsdChecker)
    assert first.schema is second.schema


def test_the_version_is_stable_and_follows_every_file(catalog_copy: Path) -> None:
    before = load_catalog(catalog_copy, DEFAULT_REGIONS).version
    assert load_catalog(catalog_copy, DEFAULT_REGIONS).version == before
    assert load_catalog(catalog_copy / "catalog.json", DEFAULT_REGIONS).version == before

    code_list = catalog_copy / "xdomea-3.0.0/schemes/xdomea_3.0.0/code_lists/Medium_1.0.xml"
    code_list.write_bytes(code_list.read_bytes() + b"\n")

    after = load_catalog(catalog_copy, DEFAULT_REGIONS).version
    assert after != before
    assert after.split("+")[0] == before.split("+")[0]


def test_the_version_follows_the_regional_key_list(catalog_copy: Path, tmp_path: Path) -> None:
    regions = tmp_path / "regions.json"
    document = json.loads(DEFAULT_REGIONS.read_text(encoding="utf-8"))
    document["daten"] = document["daten"][:100]
    regions.write_text(json.dumps(document), encoding="utf-8")

    assert load_catalog(catalog_copy, regions).version != (
        load_catalog(catalog_copy, DEFAULT_REGIONS).version
    )


LOOSE_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:meldung"
    xmlns="urn:test:meldung" elementFormDefault="qualified">
  <xs:element name="meldung.anzeige.0001">
    <xs:complexType><xs:sequence>
      <xs:element name="kopf"><xs:complexType><xs:sequence>
        <xs:element name="id" type="xs:string"/>
        <xs:element name="typ" type="xs:string"/>
        <xs:element name="zeit" type="xs:string"/>
        <xs:element name="von" type="xs:string" minOccurs="0"/>
        <xs:element name="an" type="xs:string" minOccurs="0"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="plz" type="xs:string"/>
      <xs:element name="ags" type="xs:string" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""

LOOSE_MANIFEST: dict[str, Any] = {
    "leikaKey": NEW_SERVICE,
    "name": "Testmeldung",
    "placeholderKey": True,
    "schemas": [
        {
            "schemaUri": "urn:test:meldung",
            "version": "0.1",
            "mimeType": "application/xml",
            "xsd": "test/meldung.xsd",
            "namespaces": {"m": "urn:test:meldung"},
            "routingKeys": {"postalCode": "m:plz", "ags": "m:ags"},
            "header": {
                "messageId": "m:kopf/m:id",
                "messageType": "m:kopf/m:typ",
                "createdAt": "m:kopf/m:zeit",
                "author": "m:kopf/m:von",
                "reader": "m:kopf/m:an",
                "messageTypes": {"codes": ["0001"]},
                "typeMatchesRoot": True,
            },
            "rules": [{"rule": "region-known", "fields": ["ags"]}],
        }
    ],
}


def _meldung(header: str, body: str = "<plz>50667</plz><ags>05315000</ags>") -> bytes:
    return (
        f'<meldung.anzeige.0001 xmlns="urn:test:meldung"><kopf>{header}</kopf>{body}'
        "</meldung.anzeige.0001>"
    ).encode()


@pytest.fixture
def extended(catalog_copy: Path) -> SchemaCatalog:
    """The bundled catalog plus one service, added as files only."""
    (catalog_copy / "test").mkdir()
    (catalog_copy / "test" / "meldung.xsd").write_text(LOOSE_XSD, encoding="utf-8")
    _manifest(catalog_copy, f"{NEW_SERVICE}-test.json", LOOSE_MANIFEST)
    return load_catalog(catalog_copy, DEFAULT_REGIONS)


def _decide(catalog: SchemaCatalog, data: bytes) -> Valid | Invalid:
    declared = Declared(
        NEW_SERVICE, "urn:test:meldung", "application/xml", RECEIVED_AT, NOTHING_PRESENTED
    )
    return decide(catalog, declared, data)


GOOD_HEADER = (
    "<id>1b4e28ba-2fa1-11d2-883f-0016d3cca427</id><typ>0001</typ>"
    "<zeit>2026-01-01T00:00:00Z</zeit><von>A</von><an>B</an>"
)


def test_adding_a_service_is_adding_files(extended: SchemaCatalog) -> None:
    outcome = _decide(extended, _meldung(GOOD_HEADER))

    assert outcome == Valid(
        extended.version, "urn:test:meldung", {"postalCode": "50667", "ags": "05315000"}
    )
    assert extended.version != bundled_catalog().version


@pytest.mark.parametrize(
    ("header", "slug"),
    [
        (GOOD_HEADER.replace("1b4e28ba-2fa1-11d2-883f-0016d3cca427", "4711"), "header-message-id"),
        (
            GOOD_HEADER.replace("<id>1b4e28ba-2fa1-11d2-883f-0016d3cca427</id>", "<id/>"),
            "header-message-id",
        ),
        (GOOD_HEADER.replace("<typ>0001</typ>", "<typ>0002</typ>"), "header-message-type"),
        (GOOD_HEADER.replace("2026-01-01T00:00:00Z", "gestern"), "header-created-at"),
        (GOOD_HEADER.replace("2026-01-01T00:00:00Z", "2026-11-02T09:40:00Z"), "header-created-at"),
        (GOOD_HEADER.replace("<von>A</von>", ""), "header-author"),
        (GOOD_HEADER.replace("<an>B</an>", "<an> </an>"), "header-reader"),
    ],
    ids=["not-uuid", "no-id", "type", "not-a-time", "future", "no-author", "blank-reader"],
)
def test_header_checks_where_the_schema_is_loose(
    extended: SchemaCatalog, header: str, slug: str
) -> None:
    outcome = _decide(extended, _meldung(header))

    assert slugs(outcome) == [slug]


def test_the_type_code_must_match_the_message_name(extended: SchemaCatalog) -> None:
    data = _meldung(GOOD_HEADER).replace(b"anzeige.0001", b"anzeige.0002")
    manifest = LOOSE_MANIFEST["schemas"][0]["header"]

    assert manifest["typeMatchesRoot"] is True
    assert "header-message-type" in slugs(_decide(extended, data))


def test_a_missing_region_is_refused_by_the_rule(extended: SchemaCatalog) -> None:
    outcome = _decide(extended, _meldung(GOOD_HEADER, "<plz>50667</plz>"))

    assert slugs(outcome) == ["rule-region-missing"]


def _broken(catalog_copy: Path, change: Any) -> str:
    document = json.loads(json.dumps(LOOSE_MANIFEST))
    change(document)
    (catalog_copy / "test").mkdir(exist_ok=True)
    (catalog_copy / "test" / "meldung.xsd").write_text(LOOSE_XSD, encoding="utf-8")
    _manifest(catalog_copy, f"{NEW_SERVICE}-test.json", document)
    with pytest.raises(CatalogError) as caught:
        load_catalog(catalog_copy, DEFAULT_REGIONS)
    return str(caught.value)


def _entry(document: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = document["schemas"][0]
    return entry


BROKEN = {
    "not a manifest": (lambda d: d.pop("schemas"), "'schemas' is a required property"),
    "bad LeiKa key": (lambda d: d.update(leikaKey="123"), "leikaKey"),
    "path leaves the catalog": (lambda d: _entry(d).update(xsd="../x.xsd"), "xsd"),
    "missing file": (lambda d: _entry(d).update(xsd="test/none.xsd"), "not a file inside"),
    "unknown rule field": (
        lambda d: _entry(d).update(rules=[{"rule": "not-in-future", "fields": ["birth"]}]),
        "does not name",
    ),
    "unknown rule": (
        lambda d: _entry(d).update(rules=[{"rule": "be-nice", "fields": ["ags"]}]),
        "rules",
    ),
    "bad XPath": (lambda d: _entry(d).update(routingKeys={"ags": "m:ags["}), "XPath"),
    "JSON schema for XML": (lambda d: _entry(d).update(jsonSchema="a.schema.json"), "schemas[0]"),
    "duplicate service": (lambda d: d.update(leikaKey=BUERGERGELD), "already describes"),
}  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), BROKEN.values(), ids=BROKEN)
def test_a_broken_manifest_stops_the_load_and_is_named(
    catalog_copy: Path, change: Any, expected: str
) -> None:
    message = _broken(catalog_copy, change)

    assert expected in message
    assert f"{NEW_SERVICE}-test.json" in message or "already describes" in message


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.3)
    yield server
    server.close()


def test_a_json_schema_with_a_remote_ref_is_refused_offline(
    catalog_copy: Path, listener: socket.socket
) -> None:
    remote = f"http://127.0.0.1:{listener.getsockname()[1]}/other.schema.json"
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schema.amtsweg.de/test/remote.schema.json",
        "$ref": remote,
    }
    (catalog_copy / "test").mkdir()
    (catalog_copy / "test" / "remote.schema.json").write_text(json.dumps(schema))
    _manifest(
        catalog_copy,
        f"{NEW_SERVICE}-remote.json",
        {
            "leikaKey": NEW_SERVICE,
            "name": "remote",
            "schemas": [
                {
                    "schemaUri": "urn:test:remote",
                    "version": "1",
                    "mimeType": "application/json",
                    "jsonSchema": "test/remote.schema.json",
                }
            ],
        },
    )

    with pytest.raises(CatalogError, match="does not resolve inside the catalog"):
        load_catalog(catalog_copy, DEFAULT_REGIONS)
    with pytest.raises(TimeoutError):
        listener.accept()


def test_a_catalog_without_manifests_is_refused(catalog_copy: Path) -> None:
    shutil.rmtree(catalog_copy / "services")
    (catalog_copy / "services").mkdir()

    with pytest.raises(CatalogError, match="no manifests"):
        load_catalog(catalog_copy, DEFAULT_REGIONS)


def test_the_manifest_format_is_itself_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(json.loads(MANIFEST_SCHEMA.read_text(encoding="utf-8")))


def test_every_bundled_manifest_names_its_schema_files_inside_the_catalog() -> None:
    for path in sorted((DEFAULT_CATALOG / "services").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for entry in document["schemas"]:
            for key in ("xsd", "jsonSchema", "urlCatalog"):
                if key in entry:
                    assert (DEFAULT_CATALOG / entry[key]).is_file(), (path.name, entry[key])


def test_an_unknown_service_in_the_bundled_catalog_is_reported() -> None:
    outcome = decide(
        bundled_catalog(),
        Declared(NEW_SERVICE, XDOMEA_URI, "application/xml", RECEIVED_AT, NOTHING_PRESENTED),
        b"<x/>",
    )

    assert slugs(outcome) == ["unknown-service"]
