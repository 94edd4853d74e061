"""Media stage, metadata: the XMP packet, parsed safely into a flat dict.

XMP is untrusted XML. The stdlib's expat refuses external entities but still expands
internal ones (billion laughs), so any DOCTYPE or entity declaration is refused outright:
XMP never needs one. Properties come out as {"prefix:Name": value}, prefixes canonical
(xmp, exif, tiff, photoshop, dc, xmpMM, ...) whatever the file called them; arrays become
lists, language alternatives their default text, structures dicts.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

MAX_XMP = 8 * 1024 * 1024

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
PREFIXES = {
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.adobe.com/photoshop/1.0/panorama-profile": "GPano",
}


_KEEP_URIS = {RDF, XML_NS, "adobe:ns:meta/"}
_OWN_PREFIX = "urn:osintkit:prefix:"


class XMPError(ValueError):
    """The XMP packet is not well-formed or is hostile (DOCTYPE, entities, too big)."""


def _refuse(*_args: Any) -> None:
    raise XMPError("XMP with a DOCTYPE or entity declaration refused")


def parse_xml(data: bytes) -> Element:
    """Parse XML with expat, refusing DOCTYPE/entities; qualified names as '{uri}local'."""
    builder = TreeBuilder()
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    parser.namespace_prefixes = True  # names arrive as "uri}local}prefix"
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse

    def qn(name: str) -> str:
        parts = name.split("}")
        if len(parts) == 1:
            return name
        uri, local = parts[0], parts[1]
        if len(parts) == 3 and uri not in PREFIXES and uri not in _KEEP_URIS:
            uri = _OWN_PREFIX + parts[2]  # a namespace we do not know: keep the file's prefix
        return "{" + uri + "}" + local

    parser.StartElementHandler = lambda tag, attrs: builder.start(
        qn(tag), {qn(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(qn(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XMPError(f"XMP is not well-formed XML ({exc})") from None
    return builder.close()


def _packet(raw: bytes) -> bytes:
    """The x:xmpmeta (or bare rdf:RDF) element out of a packet with wrappers and padding."""
    for start, end in ((b"<x:xmpmeta", b"</x:xmpmeta>"), (b"<rdf:RDF", b"</rdf:RDF>")):
        i, j = raw.find(start), raw.rfind(end)
        if i >= 0 and j > i:
            return raw[i:j + len(end)]
    return raw.strip(b"\x00 \r\n\t")


def _name(tag: str) -> str:
    uri, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if uri.startswith(_OWN_PREFIX):
        return f"{uri[len(_OWN_PREFIX):]}:{local}"
    prefix = PREFIXES.get(uri) or uri.rstrip("/#").rsplit("/", 1)[-1] or "ns"
    return f"{prefix}:{local}"


def _is_rdf(tag: str, local: str) -> bool:
    return tag == "{" + RDF + "}" + local


def _struct(el: Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in el.attrib.items():
        if not k.startswith("{" + RDF) and not k.startswith("{" + XML_NS):
            out[_name(k)] = v
    for child in el:
        if _is_rdf(child.tag, "Description"):
            out.update(_struct(child))
        else:
            out[_name(child.tag)] = _value(child)
    return out


def _value(el: Element) -> Any:
    """The value of one property element: text, list, language default or structure."""
    for child in el:
        if _is_rdf(child.tag, "Seq") or _is_rdf(child.tag, "Bag"):
            return [_value(li) for li in child if _is_rdf(li.tag, "li")]
        if _is_rdf(child.tag, "Alt"):
            items = [li for li in child if _is_rdf(li.tag, "li")]
            chosen = next((li for li in items if li.get("{" + XML_NS + "}lang") == "x-default"),
                          items[0] if items else None)
            return None if chosen is None else _value(chosen)
    has_attrs = any(not k.startswith("{" + RDF) and not k.startswith("{" + XML_NS)
                    for k in el.attrib)
    if len(el) or has_attrs:
        return _struct(el)
    if "{" + RDF + "}resource" in el.attrib:
        return el.attrib["{" + RDF + "}resource"]
    return (el.text or "").strip()


_USED_PREFIX = re.compile(rb"[<\s/]([A-Za-z_][\w.-]*):[\w.-]+")
_DECLARED = re.compile(rb"xmlns:([A-Za-z_][\w.-]*)\s*=")
_STANDARD = {v.encode(): k.encode() for k, v in PREFIXES.items()} | {
    b"rdf": RDF.encode(), b"x": b"adobe:ns:meta/"}


def _declare_missing(packet: bytes) -> tuple[bytes, list[str]]:
    """Wrap a packet so prefixes it uses but never declares are bound (standard URIs for
    the well-known ones), as ExifTool repairs them; returns the names it had to bind."""
    missing = sorted(set(_USED_PREFIX.findall(packet)) - set(_DECLARED.findall(packet))
                     - {b"xml", b"xmlns"})
    decls = b" ".join(b'xmlns:%s="%s"' % (p, _STANDARD.get(p, b"urn:undeclared:" + p))
                      for p in missing)
    return b"<wrap " + decls + b">" + packet + b"</wrap>", [p.decode() for p in missing]


def parse_xmp(raw: bytes, notes: list[str] | None = None) -> dict[str, Any]:
    """All properties of an XMP packet as {"prefix:Name": value}; raises XMPError.

    Undeclared namespace prefixes are repaired (and reported in `notes`)."""
    if len(raw) > MAX_XMP:
        raise XMPError(f"XMP packet too large ({len(raw)} bytes)")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:  # also outside the part we parse
        _refuse()
    packet = _packet(raw)
    try:
        root = parse_xml(packet)
    except XMPError as exc:
        if "unbound prefix" not in str(exc):
            raise
        wrapped, bound = _declare_missing(packet)
        root = parse_xml(wrapped)
        if notes is not None:
            notes.append(f"XMP used undeclared namespace prefixes ({', '.join(bound)}); "
                         "standard namespaces assumed")
    out: dict[str, Any] = {}
    try:
        for rdf in root.iter("{" + RDF + "}RDF"):
            for desc in rdf.findall("{" + RDF + "}Description"):  # top level only: nested
                out.update(_struct(desc))  # ones are structure values, not properties
    except RecursionError:  # hostile nesting; real XMP is a few levels deep
        raise XMPError("XMP nested too deeply") from None
    return out


def software_agents(xmp: dict[str, Any]) -> list[str]:
    """Distinct software agents in xmpMM:History, oldest first."""
    history = xmp.get("xmpMM:History")
    agents: list[str] = []
    for event in history if isinstance(history, list) else []:
        agent = event.get("stEvt:softwareAgent") if isinstance(event, dict) else None
        if isinstance(agent, str) and agent.strip() and agent.strip() not in agents:
            agents.append(agent.strip())
    return agents
