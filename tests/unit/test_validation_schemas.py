"""Vendored XÖV schemas compile offline and report every violation with line and path."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from lxml import etree

from services.validation.findings import Finding
from services.validation.hardened import parse_untrusted
from services.validation.schemas import (
    CATALOG_DIR,
    SchemaLoadError,
    load_xsd,
    read_url_map,
    validate_document,
)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "xoev"
XDOMEA_XSD = CATALOG_DIR / "xdomea-3.0.0" / "schemes" / "xdomea_3.0.0" / "xdomea.xsd"
XWASSER_DIR = CATALOG_DIR / "xwasser-0.9.1"
XWASSER_XSD = XWASSER_DIR / "xwasser.xsd"
XDOMEA_SAMPLES = sorted((SAMPLES / "xdomea-3.0.0").glob("*.xml"))
XWASSER_SAMPLES = sorted((SAMPLES / "xwasser-0.9.1").glob("*.xml"))


@pytest.fixture(scope="module")
def xdomea() -> etree.XMLSchema:
    return load_xsd(XDOMEA_XSD)


@pytest.fixture(scope="module")
def xwasser() -> etree.XMLSchema:
    return load_xsd(XWASSER_XSD, read_url_map(XWASSER_DIR / "catalog.xml"))


def findings_for(path: Path, schema: etree.XMLSchema) -> list[Finding]:
    return validate_document(parse_untrusted(path.read_bytes()), schema)


def test_all_samples_are_present() -> None:
    assert len(XDOMEA_SAMPLES) == 4
    assert len(XWASSER_SAMPLES) == 4


@pytest.mark.parametrize("sample", XDOMEA_SAMPLES, ids=lambda p: p.name)
def test_xdomea_samples_validate(sample: Path, xdomea: etree.XMLSchema) -> None:
    assert findings_for(sample, xdomea) == []


@pytest.mark.parametrize("sample", XWASSER_SAMPLES, ids=lambda p: p.name)
def test_xwasser_samples_validate(sample: Path, xwasser: etree.XMLSchema) -> None:
    assert findings_for(sample, xwasser) == []


def test_xwasser_catalog_maps_the_four_remote_imports() -> None:
    url_map = read_url_map(XWASSER_DIR / "catalog.xml")

    assert len(url_map) == 4
    assert all(target.is_file() for target in url_map.values())
    assert url_map["http://xoev.de/schemata/code/1_0/xoev-code.xsd"].name == "xoev-code.xsd"


@pytest.mark.parametrize("content", [None, b"<catalog", b"<!DOCTYPE c><catalog/>"])
def test_unreadable_url_catalog_is_a_schema_load_error(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "catalog.xml"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(SchemaLoadError, match=r"catalog\.xml"):
        read_url_map(path)


def broken_xdomea() -> bytes:
    """The 0503 sample with two invalid values and a required element removed.

    Each edit stays on its line, so the sample's line numbers still hold.
    """
    text = (SAMPLES / "xdomea-3.0.0" / "xx_Aussonderung.Aussonderung.0503.xml").read_text("utf-8")
    edits = [
        ("<xdomea:IstDienstlich>1</", "<xdomea:IstDienstlich>ja</"),  # line 63
        ("<xdomea:Datum>2013-12-30</", "<xdomea:Datum>30.12.2013</"),  # line 83
        ("<xdomea:ID>d9fc876a-3838-4e15-9203-15c703afe730</xdomea:ID>", ""),  # line 171
    ]
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def test_edited_sample_yields_every_finding_with_line_and_path(
    xdomea: etree.XMLSchema,
) -> None:
    findings = validate_document(parse_untrusted(broken_xdomea()), xdomea)

    assert [(f.code, f.line) for f in findings] == [
        ("schema-violation", 63),
        ("schema-violation", 83),
        ("schema-violation", 170),
    ]
    absender = "/xdomea:Aussonderung.Aussonderung.0503/xdomea:Kopf/xdomea:Absender"
    assert findings[0].path == f"{absender}/xdomea:Kommunikation/xdomea:IstDienstlich"
    assert findings[1].path == f"{absender}/xdomea:Geburt/xdomea:Datum"
    assert findings[2].path is not None
    assert findings[2].path.endswith("/xdomea:Dokument/xdomea:Identifikation")
    assert "'ja' is not a valid value" in findings[0].message
    assert "Missing child element" in findings[2].message


def test_findings_are_capped_at_the_limit(xdomea: etree.XMLSchema) -> None:
    findings = validate_document(parse_untrusted(broken_xdomea()), xdomea, limit=2)

    assert [f.line for f in findings] == [63, 83]


def test_compiled_schema_is_cached(xdomea: etree.XMLSchema) -> None:
    again = load_xsd(XDOMEA_XSD.parent / ".." / "xdomea_3.0.0" / "xdomea.xsd")

    assert again is xdomea


def test_cache_distinguishes_url_maps(xwasser: etree.XMLSchema) -> None:
    url_map = read_url_map(XWASSER_DIR / "catalog.xml")

    assert load_xsd(XWASSER_XSD, url_map) is xwasser
    assert load_xsd(XWASSER_XSD, dict(reversed(list(url_map.items())))) is xwasser
    with pytest.raises(SchemaLoadError, match="refused non-local"):
        load_xsd(XWASSER_XSD)


def test_unmapped_remote_import_is_refused_without_connecting(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.3)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/remote.xsd"
        xsd = tmp_path / "importing.xsd"
        xsd.write_text(
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:r="urn:remote">'
            f'<xs:import namespace="urn:remote" schemaLocation="{url}"/>'
            '<xs:element name="a" type="r:T"/></xs:schema>',
            encoding="utf-8",
        )

        with pytest.raises(SchemaLoadError, match="refused non-local") as caught:
            load_xsd(xsd)

        assert url in str(caught.value)
        with pytest.raises(TimeoutError):
            server.accept()


def test_url_map_can_point_a_remote_import_to_a_local_file(tmp_path: Path) -> None:
    local = tmp_path / "remote.xsd"
    local.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:remote">'
        '<xs:simpleType name="T"><xs:restriction base="xs:int"/></xs:simpleType></xs:schema>',
        encoding="utf-8",
    )
    xsd = tmp_path / "main.xsd"
    xsd.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:r="urn:remote">'
        '<xs:import namespace="urn:remote" schemaLocation="https://example.org/remote.xsd"/>'
        '<xs:element name="a" type="r:T"/></xs:schema>',
        encoding="utf-8",
    )

    schema = load_xsd(xsd, {"https://example.org/remote.xsd": local})

    assert validate_document(parse_untrusted(b"<a>42</a>"), schema) == []
    [finding] = validate_document(parse_untrusted(b"<a>\nx</a>"), schema)
    assert (finding.line, finding.path) == (1, "/a")


def test_url_map_to_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match="missing files"):
        load_xsd(XWASSER_XSD, {"https://example.org/x.xsd": tmp_path / "absent.xsd"})


@pytest.mark.parametrize("content", [None, "<xs:schema", "<notaschema/>"])
def test_unusable_xsd_is_a_schema_load_error(tmp_path: Path, content: str | None) -> None:
    xsd = tmp_path / "unusable.xsd"
    if content is not None:
        xsd.write_text(content, encoding="utf-8")

    with pytest.raises(SchemaLoadError, match=r"unusable\.xsd"):
        load_xsd(xsd)
