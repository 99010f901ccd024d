"""Reading one service manifest (``<catalog>/services/*.json``) into a ServiceEntry.

The manifest format is defined by ``manifest.schema.json`` next to this module; a
manifest that does not follow it, names a missing file, reaches outside the catalog
folder, or lets a rule read a value it never names, stops the catalog from loading.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry

from contracts.assurance import AssuranceLevel
from services.validation.entries import XML, CatalogError, Retention, SchemaEntry, ServiceEntry
from services.validation.fields import Field, FieldError, PointerField, XPathField
from services.validation.hardened import XmlRejectedError, parse_untrusted
from services.validation.header import HeaderSpec
from services.validation.json_schemas import JsonSchemaChecker, JsonSchemaLoadError
from services.validation.rules import RuleSpec
from services.validation.schemas import SchemaLoadError, XsdChecker, read_url_map

MANIFEST_SCHEMA = Path(__file__).with_name("manifest.schema.json")


@functools.cache
def _manifest_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(MANIFEST_SCHEMA.read_text(encoding="utf-8")))


def read_service(path: Path, root: Path, registry: Registry[Any]) -> ServiceEntry:
    """The service a manifest describes, with every schema compiled."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        msg = f"{path.name}: {error}"
        raise CatalogError(msg) from error
    errors = list(_manifest_validator().iter_errors(document))
    if errors:
        first = errors[0]
        msg = f"{path.name}: at {first.json_path}: {first.message}"
        raise CatalogError(msg)
    schemas: dict[str, SchemaEntry] = {}
    for index, item in enumerate(document["schemas"]):
        where = f"{path.name}, schemas[{index}]"
        try:
            entry = _schema_entry(item, root, registry)
        except (SchemaLoadError, JsonSchemaLoadError, FieldError, XmlRejectedError) as error:
            msg = f"{where}: {error}"
            raise CatalogError(msg) from error
        except CatalogError as error:
            msg = f"{where}: {error}"
            raise CatalogError(msg) from error
        if entry.schema_uri in schemas:
            msg = f"{where}: schema {entry.schema_uri} is listed twice"
            raise CatalogError(msg)
        schemas[entry.schema_uri] = entry
    return ServiceEntry(
        leika_key=document["leikaKey"],
        name=document["name"],
        placeholder_key=bool(document.get("placeholderKey", False)),
        schemas=schemas,
        retention=_retention(document.get("retention")),
        assurance_level=_assurance(document.get("assuranceLevel")),
    )


def _assurance(label: str | None) -> AssuranceLevel | None:
    return None if label is None else AssuranceLevel.of_label(label)


def _retention(spec: dict[str, Any] | None) -> Retention | None:
    if spec is None:
        return None
    return Retention(str(spec["legalBasis"]), {str(k): int(v) for k, v in spec["days"].items()})


def _inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        msg = f"{relative} is not a file inside the catalog folder"
        raise CatalogError(msg)
    return path


def _schema_entry(item: dict[str, Any], root: Path, registry: Registry[Any]) -> SchemaEntry:
    is_xml = item["mimeType"] == XML
    namespaces: dict[str, str] = item.get("namespaces", {})

    def field(expression: str) -> Field:
        return XPathField(expression, namespaces) if is_xml else PointerField(expression)

    routing_keys = {name: field(e) for name, e in item.get("routingKeys", {}).items()}
    fields = {name: field(e) for name, e in item.get("fields", {}).items()}
    if routing_keys.keys() & fields.keys():
        msg = f"names used both as routing key and field: {sorted(routing_keys.keys() & fields)}"
        raise CatalogError(msg)
    rules = tuple(_rule(spec, {*routing_keys, *fields}) for spec in item.get("rules", []))
    checker: XsdChecker | JsonSchemaChecker
    if is_xml:
        url_map = {url: _inside(root, local) for url, local in item.get("urlMap", {}).items()}
        if "urlCatalog" in item:
            url_map |= read_url_map(_inside(root, item["urlCatalog"]))
        checker = XsdChecker(_inside(root, item["xsd"]), url_map)
    else:
        checker = JsonSchemaChecker(_inside(root, item["jsonSchema"]), registry)
    header = item.get("header")
    return SchemaEntry(
        schema_uri=item["schemaUri"],
        version=item["version"],
        mime_type=item["mimeType"],
        checker=checker,
        routing_keys=routing_keys,
        fields=fields,
        header=_header(header, namespaces, root) if header is not None else None,
        rules=rules,
    )


def _rule(spec: dict[str, Any], names: set[str]) -> RuleSpec:
    params = {key: value for key, value in spec.items() if key not in ("rule", "fields")}
    wanted = [*spec["fields"], *([params["reference"]] if "reference" in params else [])]
    unknown = sorted(set(wanted) - names)
    if unknown:
        msg = f"rule {spec['rule']} reads {unknown}, which the manifest does not name"
        raise CatalogError(msg)
    return RuleSpec(spec["rule"], tuple(spec["fields"]), params)


def _header(spec: dict[str, Any], namespaces: dict[str, str], root: Path) -> HeaderSpec:
    types = spec["messageTypes"]
    if "codes" in types:
        codes = frozenset(types["codes"])
    else:
        codes = genericode_codes(_inside(root, types["genericode"]), types.get("column", "code"))
    return HeaderSpec(
        message_id=XPathField(spec["messageId"], namespaces),
        message_type=XPathField(spec["messageType"], namespaces),
        created_at=XPathField(spec["createdAt"], namespaces),
        author=XPathField(spec["author"], namespaces),
        reader=XPathField(spec["reader"], namespaces),
        message_types=codes,
        type_matches_root=bool(spec.get("typeMatchesRoot", False)),
    )


def genericode_codes(path: Path, column: str = "code") -> frozenset[str]:
    """The values of one column of an OASIS genericode code list (XÖV code lists use it)."""
    root = parse_untrusted(path.read_bytes())
    values = root.xpath(
        "//SimpleCodeList/Row/Value[@ColumnRef=$column]/SimpleValue/text()", column=column
    )
    codes = frozenset(str(value).strip() for value in values) if isinstance(values, list) else None
    if not codes:
        msg = f"{path.name} has no values in column {column!r}"
        raise CatalogError(msg)
    return codes
