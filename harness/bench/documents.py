"""Synthetic, schema-valid documents for ``amtsweg bench validation``.

Built in code (no sample files needed at run time), deterministic, with made-up values:
xdomea 3.0.0 ``Aussonderung.Aussonderung.0503`` messages of any size (one Schriftgutobjekt
is about 0.9 KB), an Amtsweg Sozialantrag (XML, with XÖV header) and a Bürgergeld
application (FIM-style JSON), both with a full household.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

_NAMESPACE = uuid.UUID("0d9b7a52-52b4-4bd4-9a0c-1f4c5e0b7d11")

XDOMEA_URI = "urn:xoev-de:xdomea:schema:3.0.0"
SOZIALANTRAG_URI = "urn:amtsweg:schema:sozialantrag:1.0"
BUERGERGELD_JSON_URI = (
    "https://schema.amtsweg.de/sozialplattform/buergergeld/1.0.0/buergergeld.schema.json"
)
XDOMEA_SERVICE = "99900000000202"
BUERGERGELD = "99900000000101"

_XDOMEA_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<xdomea:Aussonderung.Aussonderung.0503 xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0">
  <xdomea:Kopf>
    <xdomea:ProzessID>242f44e8-bebf-4503-a086-db252c6a4277</xdomea:ProzessID>
    <xdomea:Nachrichtentyp><code>0503</code></xdomea:Nachrichtentyp>
    <xdomea:Erstellungszeitpunkt>2026-03-02T10:15:00</xdomea:Erstellungszeitpunkt>
    <xdomea:Absender><xdomea:Behoerdenkennung><xdomea:Behoerdenschluessel listURI=""
      listVersionID=""><code>JC05315</code></xdomea:Behoerdenschluessel>
    </xdomea:Behoerdenkennung></xdomea:Absender>
    <xdomea:Empfaenger><xdomea:Behoerdenkennung><xdomea:Behoerdenschluessel listURI=""
      listVersionID=""><code>LAV-NRW</code></xdomea:Behoerdenschluessel>
    </xdomea:Behoerdenkennung></xdomea:Empfaenger>
    <xdomea:SendendesSystem><xdomea:Produktname>Amtsweg</xdomea:Produktname></xdomea:SendendesSystem>
    <xdomea:Importbestaetigung>1</xdomea:Importbestaetigung>
    <xdomea:RueckmeldungArchivkennung>1</xdomea:RueckmeldungArchivkennung>
    <xdomea:Empfangsbestaetigung>1</xdomea:Empfangsbestaetigung>
  </xdomea:Kopf>
"""

_XDOMEA_OBJECT = """  <xdomea:Schriftgutobjekt>
    <xdomea:Dokument>
      <xdomea:Identifikation><xdomea:ID>{id}</xdomea:ID></xdomea:Identifikation>
      <xdomea:AllgemeineMetadaten>
        <xdomea:Betreff>Leistungsakte SGB II, Bescheid {n}</xdomea:Betreff>
        <xdomea:Kennzeichen>36101-BG-{n:07d}</xdomea:Kennzeichen>
      </xdomea:AllgemeineMetadaten>
      <xdomea:Version>
        <xdomea:Nummer>1</xdomea:Nummer>
        <xdomea:Format>
          <xdomea:Name listURI="urn:xoev-de:xdomea:codeliste:dateiformat"
            listVersionID="1.0"><code>044</code></xdomea:Name>
          <xdomea:Version>1b</xdomea:Version>
          <xdomea:Primaerdokument><xdomea:Dateiname>{id}.pdf</xdomea:Dateiname></xdomea:Primaerdokument>
        </xdomea:Format>
      </xdomea:Version>
    </xdomea:Dokument>
  </xdomea:Schriftgutobjekt>
"""


def xdomea_document(target_bytes: int) -> bytes:
    """An xdomea 0503 message of at least one object, grown to about ``target_bytes``."""
    parts = [_XDOMEA_HEAD]
    size = len(_XDOMEA_HEAD)
    n = 0
    while n == 0 or size < target_bytes:
        part = _XDOMEA_OBJECT.format(id=uuid.uuid5(_NAMESPACE, str(n)), n=n)
        parts.append(part)
        size += len(part)
        n += 1
    parts.append("</xdomea:Aussonderung.Aussonderung.0503>\n")
    return "".join(parts).encode()


_SA_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<sa:sozialantrag.buergergeld.0101 xmlns:sa="urn:amtsweg:schema:sozialantrag:1.0"
  produkt="Amtsweg-Bench" produkthersteller="Amtsweg" standard="Amtsweg-Sozialantrag"
  version="1.0.0" test="true">
  <nachrichtenkopf.g2g>
    <identifikation.nachricht>
      <nachrichtenUUID>5b0c9f3e-7a41-4c2e-9d6b-2f8e1a7c3d90</nachrichtenUUID>
      <nachrichtentyp listVersionID="1.0"><code>0101</code></nachrichtentyp>
      <erstellungszeitpunkt>2026-03-02T10:15:00</erstellungszeitpunkt>
    </identifikation.nachricht>
    <leser><verzeichnisdienst listVersionID="1"><code>DVDV</code></verzeichnisdienst>
      <kennung>jobcenter:05315</kennung><name>Jobcenter Köln</name></leser>
    <autor><verzeichnisdienst listVersionID="1"><code>DVDV</code></verzeichnisdienst>
      <kennung>portal:sozialplattform</kennung><name>Sozialplattform</name></autor>
  </nachrichtenkopf.g2g>
  <sa:antrag>
    <sa:antragsdatum>2026-03-02</sa:antragsdatum>
    <sa:antragsteller>
      <sa:familienname>Mustermann</sa:familienname><sa:vornamen>Erika</sa:vornamen>
      <sa:geburtsdatum>1984-08-12</sa:geburtsdatum>
      <sa:anschrift>
        <sa:strasse>Heidestraße</sa:strasse><sa:hausnummer>17</sa:hausnummer>
        <sa:postleitzahl>51147</sa:postleitzahl><sa:ort>Köln</sa:ort>
        <sa:verwaltungspolitischeKodierung>
          <sa:regionalschluessel>053150000000</sa:regionalschluessel>
        </sa:verwaltungspolitischeKodierung>
      </sa:anschrift>
    </sa:antragsteller>
    <sa:haushalt>
"""

_SA_MEMBER = """      <sa:mitglied>
        <sa:familienname>Mustermann-Beispielhaft</sa:familienname>
        <sa:vornamen>Kind Nummer {n} mit einem langen Vornamen</sa:vornamen>
        <sa:geburtsdatum>20{n:02d}-0{m}-1{m}</sa:geburtsdatum>
        <sa:verhaeltnisZumAntragsteller>kind</sa:verhaeltnisZumAntragsteller>
      </sa:mitglied>
"""

_SA_INCOME = """    <sa:einkommen>
      <sa:art>sonstiges</sa:art><sa:betragMonatlich>{n}.50</sa:betragMonatlich>
    </sa:einkommen>
"""

_SA_TAIL = """    <sa:bankverbindung><sa:kontoinhaber>Erika Mustermann</sa:kontoinhaber>
      <sa:iban>DE02370501980001802057</sa:iban></sa:bankverbindung>
    <sa:erklaerungen>
      <sa:angabenVollstaendigUndWahr>true</sa:angabenVollstaendigUndWahr>
      <sa:datenschutzhinweiseZurKenntnisGenommen>true</sa:datenschutzhinweiseZurKenntnisGenommen>
    </sa:erklaerungen>
    <sa:erwerbsfaehig>true</sa:erwerbsfaehig>
    <sa:unterkunft><sa:wohnflaecheQm>78.5</sa:wohnflaecheQm><sa:grundmiete>690.00</sa:grundmiete>
      <sa:nebenkosten>185.00</sa:nebenkosten><sa:heizkosten>95.50</sa:heizkosten></sa:unterkunft>
  </sa:antrag>
</sa:sozialantrag.buergergeld.0101>
"""


def sozialantrag_document() -> bytes:
    """A Bürgergeld application (XML) with the largest household and income list allowed."""
    members = "".join(_SA_MEMBER.format(n=n, m=1 + n % 9) for n in range(20))
    incomes = "".join(_SA_INCOME.format(n=100 + n) for n in range(50))
    return (_SA_HEAD + members + "    </sa:haushalt>\n" + incomes + _SA_TAIL).encode()


def buergergeld_json_document() -> bytes:
    """The same application as FIM-style JSON."""
    address = {
        "strasse": "Heidestraße",
        "hausnummer": "17",
        "postleitzahl": "51147",
        "ort": "Köln",
        "verwaltungspolitischeKodierung": {"regionalschluessel": "053150000000"},
    }
    document: dict[str, Any] = {
        "antragsdatum": "2026-03-02",
        "leistungsbeginn": "2026-03-01",
        "antragsteller": {
            "familienname": "Mustermann",
            "vornamen": "Erika",
            "geburtsdatum": "1984-08-12",
            "anschrift": address,
        },
        "erwerbsfaehig": True,
        "bedarfsgemeinschaft": {
            "mitglieder": [
                {
                    "familienname": "Mustermann-Beispielhaft",
                    "vornamen": f"Kind Nummer {n} mit einem langen Vornamen",
                    "geburtsdatum": f"20{n:02d}-0{1 + n % 9}-1{1 + n % 9}",
                    "verhaeltnisZumAntragsteller": "kind",
                }
                for n in range(20)
            ]
        },
        "unterkunft": {
            "art": "mietwohnung",
            "wohnflaecheQm": 78.5,
            "grundmiete": 690.0,
            "nebenkosten": 185.0,
            "heizkosten": 95.5,
        },
        "einkommen": [{"art": "sonstiges", "betragMonatlich": 100.5 + n} for n in range(50)],
        "erklaerungen": {
            "angabenVollstaendigUndWahr": True,
            "datenschutzhinweiseZurKenntnisGenommen": True,
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode()
