"""XML writing shared by the two Final Cut formats (FCP 7 XML and FCPXML)."""

from __future__ import annotations

from xml.etree import ElementTree


def xml_document(root: ElementTree.Element) -> str:
    """An XML file with the declaration and DOCTYPE both Final Cut formats begin with."""
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {root.tag}>\n{body}\n'


def sub(
    parent: ElementTree.Element, tag: str, text: object = None, **attrib: str
) -> ElementTree.Element:
    """A child element of ``parent``, with ``text`` (any value, written with `str`) if given."""
    element = ElementTree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = str(text)
    return element
