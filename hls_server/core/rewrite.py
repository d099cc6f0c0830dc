"""Token propagation into HLS playlists (RFC 8216): a pure function over text, compiled once, rendered per request.

A viewer who was let in with ``?token=T`` must carry the same token on every request the player makes next:
variant playlists, renditions, segments, init sections, keys, parts, preload hints, interstitial assets. So
every URI of a playlist meant for this origin gets ``token=T`` in its query:

* every URI line: a non-blank line whose first non-blank character is not ``#`` (a line that starts with
  blanks and then ``#`` is an indented tag or comment, as the m3u8 library and ExoPlayer read it);
* in every ``#EXT`` tag line, indented or not: the ``URI`` attribute; ``SERVER-URI`` of
  ``EXT-X-CONTENT-STEERING``; ``X-ASSET-URI`` and ``X-ASSET-LIST`` of ``EXT-X-DATERANGE`` (HLS interstitials;
  the URIs inside an asset list's JSON are not this module's). Other names ending in ``URI`` are not URIs.

Where a token may go
--------------------
A relative or path-absolute URI stays on this origin and gets the token. An absolute ``http(s)://`` or a
scheme-relative ``//host/`` URI gets it only when its host[:port] is the ``host`` given to
:meth:`PlaylistTemplate.render` (case-insensitive, an explicit default port equal to none) and its scheme is no
weaker than the request's ``scheme``: an ``http://`` URI never gets the token of a request made over https,
which would send it in clear; an ``https://`` one gets it over both; a scheme-relative one inherits the
request's scheme. Other hosts and schemes (``data:``, ``skd:``) are left alone, and so is anything this module
cannot read without ambiguity, because a token must never go where it was not meant to:

* the authority (up to the first ``/``, ``?`` or ``#``, as RFC 3986 parsers such as curl and ffmpeg end it) is
  an ASCII host name of non-empty labels (letters, digits, inner hyphens; no trailing dot), a canonical dotted
  IPv4 address (WHATWG parsers read a name whose last label looks like a number as an IPv4 address, others
  look it up: ``127.1``, ``0x7f.0.0.1``, ``0177.0.0.1`` are refused), or a valid bracketed IPv6 address without
  a zone id, then an optional port of 1 to 65535 without leading zeros. So no userinfo, no percent-encoding,
  and no backslash anywhere before the path: WHATWG parsers read ``\\`` as ``/``, curl and ffmpeg do not, and
  send ``https://origin\\@evil/`` to ``evil``;
* a URI holding a control character, a BOM or a blank other than the space gets no token: parsers drop or
  trim them differently (hls.js skips any Unicode blank before a URI line: ``\\u00a0//evil/x`` is a URI of
  ``evil`` for it);
* a URI holding a variable reference (``{$base}/seg.ts``, EXT-X-DEFINE of RFC 8216bis) gets no token: hls.js
  and ExoPlayer substitute it, so it is not the URI they request. A playlist that takes a variable from its
  own URL's ``token`` parameter (``QUERYPARAM="token"``) is refused (:class:`ValueError`): players would put the
  viewer's token into any URI it names, on any host, whatever this module does.

How attribute lists are read
----------------------------
As RFC 8216 section 4.2 defines them (a quoted string may hold commas), with the leniency players share, so
that a URI they request gets its token: any attribute name without blanks, ``=``, ``,`` or ``"``
(``AVERAGE_BANDWIDTH``, lower case), blanks around names, values and ``=``, a trailing comma, an unquoted
``URI=init.mp4`` (hls.js and ffmpeg request it). Names compare exactly: no player reads ``uri=`` as ``URI``. A
line that is still not an attribute list is left as it is; its URIs get no token and fail closed.

Players do not all read a list alike, so a tag line gets tokens only when every reading modelled here puts
each of them into a URI that may carry it: the grammar above; hls.js's (the shortest name up to ``=``, then
the shortest quoted string followed by a comma or the end, else the text up to a comma; so a blank before a
comma or after ``=`` puts it out of step with us); and ffmpeg's (a backslash escapes the next character of a
quoted string, quote included; an unquoted value ends at a blank). ExoPlayer needs no model: it takes
``NAME="..."`` up to the next quote, and a quoted value that holds a token holds no quote. A tag line holding
``#EXT`` a second time (hls.js finds multivariant tags anywhere in the text, even inside a quoted value), a
control character other than the tab, an odd blank or a BOM gets no token at all.

The header
----------
A playlist starts with ``#EXTM3U`` (RFC 8216 section 4.3.1.1), after an optional BOM. Blank and comment lines
before it are accepted and left out of the output (with a BOM before them), so that the playlist starts with
its header for every player: hls.js refuses a multivariant playlist that does not start with ``#EXTM3U``
(before a media playlist's it skips blank lines, not comments), ExoPlayer skips blank lines only, ffmpeg wants
the header as the very first line, and Apple's spec puts it first (AVPlayer's parser is not public). Served as
it is, such a file would play in some players; refused ("damaged playlist"), in none; and those lines carry
nothing a player uses. :attr:`PlaylistTemplate.start` tells where the output starts in the file, to serve it
without a token. Anything else before ``#EXTM3U`` (a tag, a URI, HTML, an indented header) is not a playlist:
:class:`ValueError`.

What stays
----------
An existing ``token`` parameter is replaced in place, so rendering is idempotent. Everything else (other tags,
comments, blank lines, LF or CRLF line ends, a UTF-8 BOM, a missing final newline) is kept byte for byte, but
for the lines before the header. The token is percent-encoded with :func:`urllib.parse.quote` (``safe=""``):
a JWT (base64url and dots) is unchanged, and no CR, LF, quote, comma or ``#`` from a hostile token can reach
the output.

:func:`compile_playlist` does the parsing once per file version and :meth:`PlaylistTemplate.render` only
joins precomputed UTF-8 chunks around the encoded token (one dict lookup, one ``bytes.join``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import quote, unquote_plus

TOKEN_PARAM = "token"  # noqa: S105 - the query parameter's name, not a secret

PLAYLIST_HEADER = "#EXTM3U"
TAG_PREFIX = "#EXT"
BOM = "\ufeff"

MAX_HOST_VARIANTS = 8
"""Distinct hosts (as absolute URIs name them) whose chunks are precomputed at compile time. A playlist
naming more hosts still renders correctly; the extra ones are assembled at render time."""

URI_ATTRIBUTE = "URI"
STEERING_TAG = "EXT-X-CONTENT-STEERING"
STEERING_URI_ATTRIBUTE = "SERVER-URI"
DATERANGE_TAG = "EXT-X-DATERANGE"
INTERSTITIAL_URI_ATTRIBUTES = ("X-ASSET-URI", "X-ASSET-LIST")
"""Apple's HLS interstitials: an asset's playlist, or a JSON list of assets, for a break on the timeline."""
URI_ATTRIBUTES: Mapping[str, frozenset[str]] = MappingProxyType({
    STEERING_TAG: frozenset({URI_ATTRIBUTE, STEERING_URI_ATTRIBUTE}),
    DATERANGE_TAG: frozenset({URI_ATTRIBUTE, *INTERSTITIAL_URI_ATTRIBUTES}),
})
"""The attributes whose values are URIs, for the tags that have more than ``URI``."""
DEFAULT_URI_ATTRIBUTES = frozenset({URI_ATTRIBUTE})

VARIABLE_REFERENCE = "{$"
"""How a variable reference starts (``{$name}``, EXT-X-DEFINE of RFC 8216bis section 4.4.2.3)."""
_TOKEN_FROM_URL = re.compile(r'QUERYPARAM[ \t]*=[ \t]*"?([^",\r\n]*)')
"""An EXT-X-DEFINE that takes a variable's value from a query parameter of the playlist's own URL."""

NOT_ATTRIBUTE_LISTS = frozenset({"EXTINF"})
"""Tags whose value is not an attribute list although it may contain ``NAME="..."`` (an EXTINF title)."""

PLAIN_SCHEME = "http"
SECURE_SCHEME = "https"
DEFAULT_PORTS: Mapping[str, int] = MappingProxyType({PLAIN_SCHEME: 80, SECURE_SCHEME: 443})
MAX_PORT = 0xFFFF

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_SCHEME_RELATIVE = frozenset({"//", "\\\\", "/\\", "\\/"})
"""``//host/``, and the backslash spellings that WHATWG URL parsers (browsers, hls.js) read the same way."""
_AUTHORITY_END = re.compile(r"[/?#]")
"""Where RFC 3986 parsers (curl, ffmpeg) end an authority; WHATWG ones also end it at a backslash, so an
authority holding one is refused."""
_AUTHORITY = re.compile(r"(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
"""A host name or IP literal with an optional port, checked further by :func:`_is_plain_host`: no userinfo,
no percent-encoding, nothing that two URL parsers could read as two different hosts."""
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?")
_HEX_NUMBER = re.compile(r"0x[0-9a-f]*")
_DECIMAL_OCTET = re.compile(r"0|[1-9][0-9]{0,2}")
_IPV4_PARTS = 4
_MAX_OCTET = 255
_UNSAFE_IN_URI = re.compile(r"[\x00-\x1f\x7f-\x9f\ufeff]|[^\S ]")
"""Control characters (C0, DEL, C1), the BOM and every blank but the space: URL parsers strip, drop or
trim them differently."""
_PLAIN_RELATIVE = r"[^\s#?:/\\{\x00-\x1f\x7f-\x9f\ufeff][^\s#?:\\{\x00-\x1f\x7f-\x9f\ufeff]*"
"""A relative path with no scheme, query, fragment, backslash, brace, blank or control character."""
_URI_BEARING_LINE = re.compile(
    rf"^(?:(?P<plain>{_PLAIN_RELATIVE})|(?P<uri>(?![ \t]*#)[^\n]+?)"
    rf"|(?P<tag>[ \t]*#EXT[^\n]*?(?:URI|X-ASSET-LIST)[^\n]*?))\r?$",
    re.MULTILINE,
)
"""A URI line: a plain relative one (as ffmpeg writes segment names) or another (perhaps blank: skipped
later), or a tag line, perhaps indented, that may hold a URI attribute; without the CR of a CRLF."""
_ATTRIBUTE = re.compile(r'[ \t]*([^\s=,"]+)[ \t]*=[ \t]*("[^"]*"|[^",]*)[ \t]*(?:,|\Z)')
_CANONICAL_LIST = re.compile(r'(?:[^\s=,"\\]+=(?:"[^"\\]*"|[^\s",\\]*)(?:,|\Z))*')
"""An attribute list as packagers write it: no blank, no backslash, each value right after its ``=`` and right
before a comma or the end. Every reader modelled in :func:`_readers_agree` reads it as we do (a name ends at
its only ``=``, a quoted value at its only closing quote, which a comma or the end follows, an unquoted value
at the comma), and a token inserted into it keeps it so; checking the readers is then needless."""
_BLANKS = " \t"
_PREAMBLE = re.compile(r"(?:[ \t]*(?:#(?!EXT)[^\n]*)?\r?\n)*")
"""Blank lines and comments (a ``#`` not followed by ``EXT``) before the header."""
_UNSAFE_IN_TAG = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ufeff]|[^\S \t]")
"""What :data:`_UNSAFE_IN_URI` refuses, but the tab (blanks around names, values and ``=`` are tolerated)."""
_PROBE = "T"
"""Stands for an encoded token while readers are checked: like one, it holds nothing any reader splits at."""
_JS_ANY = r"[^\n\r\u2028\u2029]"
"""What ``.`` matches in a JavaScript regular expression."""
_HLSJS_ATTRIBUTE = re.compile(rf'{_JS_ANY}+?=("{_JS_ANY}*?"|{_JS_ANY}*?)(?:,|\Z)')
_FFMPEG_SEPARATORS = frozenset(" \t\n\v\f\r,")


_Target = tuple[str, str]
"""A request that an absolute URI may carry the token of: the request's lower-cased ``host[:port]`` and its
scheme (``http`` or ``https``)."""


@dataclass(frozen=True, slots=True)
class _Uri:
    """An absolute URI: ``before`` + encoded token + ``after`` for one of the requests in ``targets``, else
    ``original``."""
    before: str
    after: str
    original: str
    targets: frozenset[_Target]


_SLOT = None
"""Where the token goes, whatever the request (after a relative URI's ``token=``)."""
_Item = str | _Uri | None
_Chunks = tuple[bytes, ...]


class _Variants(NamedTuple):
    """The chunks for one host, per scheme of the request."""
    https: _Chunks
    http: _Chunks


@dataclass(frozen=True, slots=True)
class PlaylistTemplate:
    """A compiled playlist: literal UTF-8 chunks with the token going between each two.

    Build it with :func:`compile_playlist`; it is immutable and safe to share between requests.
    """
    chunks: _Chunks = field(repr=False)
    """For a request whose host matches no absolute URI of the playlist (or no host given)."""
    host_chunks: Mapping[str, _Variants] = field(repr=False, compare=False)
    """Precomputed chunks per lower-cased ``host[:port]`` that some absolute URI names, per request scheme."""
    hosts: frozenset[str] = field(repr=False)
    """Every ``host[:port]`` for which some absolute URI gets the token (a superset of host_chunks' keys)."""
    items: tuple[_Item, ...] = field(repr=False)
    """The parsed playlist, kept only when it names more hosts than were precomputed."""
    start: int = field(default=0, repr=False)
    """Where the playlist as rendered starts in the UTF-8 bytes it was compiled from: 0, or past the blank and
    comment lines (and a BOM) before ``#EXTM3U``. Serving it without a token means serving those bytes from
    there, so that every viewer gets the same playlist."""

    def render(self, token: str, host: str | None = None, scheme: str = SECURE_SCHEME) -> bytes:
        """The playlist with ``token`` in every URI meant for this origin, as UTF-8 bytes.

        ``host`` is the origin's ``host[:port]`` (as in a Host header) and ``scheme`` the scheme the viewer
        used (``http`` or ``https``, any case; anything else counts as ``https``, the strict side): absolute
        URIs naming that host with a scheme no weaker get the token too; with ``host=None`` only relative
        URIs do.
        """
        if not token:
            raise ValueError("cannot propagate an empty token into a playlist")
        value = quote(token, safe="").encode("ascii")
        chunks = self.chunks
        if host is not None and self.hosts:
            key = host.lower()
            variants = self.host_chunks.get(key)
            if variants is None and key in self.hosts:
                variants = _variants(self.items, key)
            if variants is not None:
                chunks = variants.http if scheme.lower() == PLAIN_SCHEME else variants.https
        return value.join(chunks)

    def __repr__(self) -> str:
        return f"PlaylistTemplate({len(self.chunks) - 1} token slots, {len(self.hosts)} absolute hosts)"


def propagate_token(text: str, token: str, host: str | None = None, scheme: str = SECURE_SCHEME) -> str:
    """One-shot form of ``compile_playlist(text).render(token, host, scheme)``, as text."""
    return compile_playlist(text).render(token, host, scheme).decode("utf-8")


def compile_playlist(text: str) -> PlaylistTemplate:
    """Parse ``text`` once into a template whose :meth:`~PlaylistTemplate.render` only inserts the token.

    Raises :class:`ValueError` when ``text`` is not an HLS playlist: its first line, after an optional UTF-8
    BOM and any blank or comment lines (which the template leaves out), must be ``#EXTM3U``; or when it
    reads the token from its own URL (``EXT-X-DEFINE:QUERYPARAM="token"``).
    """
    bom = len(BOM) if text.startswith(BOM) else 0
    preamble = _PREAMBLE.match(text, bom)
    header = bom if preamble is None else preamble.end()
    line_end = text.find("\n", header)
    first_line = text[header:len(text) if line_end < 0 else line_end].rstrip("\r").rstrip(_BLANKS)
    if first_line != PLAYLIST_HEADER:
        raise ValueError(f"not an HLS playlist: the first line must be {PLAYLIST_HEADER} (RFC 8216, 4.3.1.1)")
    for match in _TOKEN_FROM_URL.finditer(text):
        name = match[1].strip(_BLANKS)
        if name == TOKEN_PARAM or VARIABLE_REFERENCE in name:
            raise ValueError(f"the playlist defines a variable from its URL's {TOKEN_PARAM} parameter "
                             "(EXT-X-DEFINE QUERYPARAM): players would send the token wherever it says")
    done = 0 if header == bom else header  # served from #EXTM3U on when lines come before it
    served_from = len(text[:done].encode("utf-8"))
    items: list[_Item] = []
    for line in _URI_BEARING_LINE.finditer(text, done):  # the header itself matches none of the three
        kind = line.lastgroup
        start, end = line.span(line.lastindex or 0)
        if kind == "plain":
            items += (f"{text[done:end]}?{TOKEN_PARAM}=", _SLOT)
        elif kind == "tag":
            items.append(text[done:start])
            _compile_tag(text[start:end], items)
        else:
            items.append(text[done:start])
            _compile_uri(text[start:end], items)
        done = end
    items.append(text[done:])
    hosts = frozenset(host for item in items if isinstance(item, _Uri) for host, _ in item.targets)
    precomputed = sorted(hosts)[:MAX_HOST_VARIANTS]
    return PlaylistTemplate(
        chunks=_join_chunks(items, None),
        host_chunks=MappingProxyType({host: _variants(items, host) for host in precomputed}),
        hosts=hosts,
        items=tuple(items) if len(hosts) > len(precomputed) else (),
        start=served_from,
    )


def _compile_tag(line: str, items: list[_Item]) -> None:
    """A tag line, perhaps indented: the values of its URI attributes become URIs, when every reader we know
    of agrees on where their tokens land."""
    indent = len(line) - len(line.lstrip(_BLANKS))
    name, colon, _ = line[indent + 1:].partition(":")
    start = indent + 1 + len(name) + 1
    places: list[_Place] = []
    if colon and name not in NOT_ATTRIBUTE_LISTS and _is_plain_tag_line(line, indent):
        wanted = URI_ATTRIBUTES.get(name, DEFAULT_URI_ATTRIBUTES)
        for attribute, value_start, value_end in _parse_attributes(line, start) or ():
            place = _place(line, value_start, value_end) if attribute in wanted else None
            if place is not None:
                places.append(place)
        if places and not _CANONICAL_LIST.fullmatch(line, start) and not _readers_agree(line, start, places):
            places = []
    _emit(line, places, items)


def _is_plain_tag_line(line: str, indent: int) -> bool:
    """No control character, odd blank or BOM (readers end lines and values at different ones), and no
    second ``#EXT`` (hls.js finds multivariant tags anywhere in the text, even inside another tag's value)."""
    return _UNSAFE_IN_TAG.search(line) is None and line.find(TAG_PREFIX, indent + 1) < 0


def _parse_attributes(line: str, pos: int) -> list[tuple[str, int, int]] | None:
    """``(name, value start, value end)`` of each attribute of ``line[pos:]`` (a quoted value without its
    quotes), or ``None`` when that is not an attribute list: RFC 8216 section 4.2 read as players read it,
    any name without blanks, ``=``, ``,`` or ``"``, blanks around names and ``=``, a trailing comma."""
    found: list[tuple[str, int, int]] = []
    while pos < len(line):
        match = _ATTRIBUTE.match(line, pos)
        if match is None:
            return None
        start, end = match.span(2)
        if line.startswith('"', start):
            start, end = start + 1, end - 1
        found.append((match[1], start, end))
        pos = match.end()
    return found


@dataclass(frozen=True, slots=True)
class _Place:
    """A URI that gets the token: where it sits in its line, the text before and after the token, and the
    requests it may carry the token of (``None``: any)."""
    start: int
    end: int
    before: str
    after: str
    targets: frozenset[_Target] | None


def _place(line: str, start: int, end: int) -> _Place | None:
    """The URI in ``line[start:end]`` (blanks around it left out), or ``None`` when it must never get a token."""
    text = line[start:end]
    uri = text.strip(_BLANKS)
    start += len(text) - len(text.lstrip(_BLANKS))
    targets = _token_targets(uri)
    if not uri or (targets is not None and not targets):
        return None
    before, after = _with_token_slot(uri)
    return _Place(start, start + len(uri), before, after, targets)


def _emit(line: str, places: Sequence[_Place], items: list[_Item]) -> None:
    """Append ``line`` with a token slot in each of its ``places``; everything around them stays as it is."""
    done = 0
    for place in places:
        items.append(line[done:place.start])
        if place.targets is None:
            items += (place.before, _SLOT, place.after)
        else:
            items.append(_Uri(place.before, place.after, line[place.start:place.end], place.targets))
        done = place.end
    items.append(line[done:])


def _readers_agree(line: str, start: int, places: Sequence[_Place]) -> bool:
    """Whether, in every reading of the attribute list ``line[start:]`` we model, each value that holds a
    token may carry it: for each request (each fills its own set of ``places``), a value holding a token must
    be a URI that admits that request."""
    requests: set[_Target | None] = {None}
    for place in places:
        requests.update(place.targets or ())
    for request in requests:
        filled = [place for place in places if place.targets is None or request in place.targets]
        if not filled:
            continue
        attributes, probes = _probed(line, start, filled)
        for reader in _READERS:
            for value, value_start, value_end in reader(attributes):
                if any(value_start <= probe < value_end for probe in probes):
                    targets = _token_targets(value.strip(_BLANKS))
                    if targets is not None and request not in targets:
                        return False
    return True


def _probed(line: str, start: int, places: Sequence[_Place]) -> tuple[str, list[int]]:
    """``line[start:]`` with a probe token in each of ``places``, and where each probe is."""
    parts: list[str] = []
    probes: list[int] = []
    size, done = 0, start
    for place in places:
        head = line[done:place.start] + place.before
        parts += (head, _PROBE, place.after)
        probes.append(size + len(head))
        size += len(head) + len(_PROBE) + len(place.after)
        done = place.end
    parts.append(line[done:])
    return "".join(parts), probes


def _hlsjs_values(attributes: str) -> Iterator[tuple[str, int, int]]:
    """``(value, start, end)`` of each attribute as hls.js reads the list: the shortest name up to ``=``, then
    the shortest quoted string followed by a comma or the end, or else the shortest text up to a comma or the
    end; a value that starts and ends with a quote is unquoted."""
    for match in _HLSJS_ATTRIBUTE.finditer(attributes):
        start, end = match.span(1)
        if end > start and attributes[start] == '"' and attributes[end - 1] == '"':
            start, end = start + 1, max(start + 1, end - 1)
        yield attributes[start:end], start, end


def _ffmpeg_values(attributes: str) -> Iterator[tuple[str, int, int]]:
    """``(value, start, end)`` of each attribute as ffmpeg reads the list (``ff_parse_key_value``): blanks
    and commas skipped, a key up to the next ``=``, then a quoted string in which a backslash escapes the next
    character (``\\"`` does not end it, ``\\h`` is ``h``), or else text up to a blank or a comma."""
    pos, size = 0, len(attributes)
    while True:
        while pos < size and attributes[pos] in _FFMPEG_SEPARATORS:
            pos += 1
        equals = attributes.find("=", pos)
        if pos >= size or equals < 0:
            return
        pos = equals + 1
        if attributes.startswith('"', pos):
            start = pos = pos + 1
            value: list[str] = []
            while pos < size and attributes[pos] != '"':
                if attributes[pos] == "\\":
                    if pos + 1 >= size:
                        break
                    pos += 1
                value.append(attributes[pos])
                pos += 1
            yield "".join(value), start, pos
            if attributes.startswith('"', pos):
                pos += 1
        else:
            start = pos
            while pos < size and attributes[pos] not in _FFMPEG_SEPARATORS:
                pos += 1
            yield attributes[start:pos], start, pos


_READERS: tuple[Callable[[str], Iterator[tuple[str, int, int]]], ...] = (_hlsjs_values, _ffmpeg_values)


def _compile_uri(line: str, items: list[_Item]) -> None:
    """A URI line: its URI with a slot for the token, or all of it as a literal when that URI must never get
    one. Blanks around the URI stay where they are."""
    place = _place(line, 0, len(line))
    _emit(line, () if place is None else (place,), items)


def _token_targets(uri: str) -> frozenset[_Target] | None:
    """Which requests ``uri`` may carry the token of: ``None`` for any (a relative URI stays on the origin),
    an empty set for none (another scheme, or a URI that is not plain enough)."""
    if _UNSAFE_IN_URI.search(uri):
        return frozenset()  # WHATWG parsers drop tabs and newlines anywhere: "/\t/evil" is "//evil"
    if VARIABLE_REFERENCE in uri:
        return frozenset()  # hls.js and ExoPlayer substitute it: "{$base}/seg.ts" may be "https://evil/seg.ts"
    scheme: str | None = None
    if uri[:2] in _SCHEME_RELATIVE:
        authority = uri[2:]
    elif (match := _SCHEME.match(uri)) is not None:
        scheme = match.group().removesuffix(":").lower()
        if scheme not in DEFAULT_PORTS or uri[match.end():match.end() + 2] != "//":
            return frozenset()
        authority = uri[match.end() + 2:]
    else:
        return None
    parsed = _AUTHORITY.fullmatch(_AUTHORITY_END.split(authority, maxsplit=1)[0])
    if parsed is None:
        return frozenset()
    name, digits = parsed["host"].lower(), parsed["port"]
    if not _is_plain_host(name) or (digits is not None and (digits.startswith("0") or int(digits) > MAX_PORT)):
        return frozenset()
    port = int(digits) if digits is not None else None
    default = DEFAULT_PORTS.get(scheme) if scheme is not None else None
    if port is None and default is None:
        hosts = {name}
    elif port is None or port == default:
        hosts = {name, f"{name}:{default}"}
    else:
        hosts = {f"{name}:{port}"}
    # an http URI only for a request over http; https and scheme-relative ones (same scheme) for both
    schemes = (PLAIN_SCHEME,) if scheme == PLAIN_SCHEME else (PLAIN_SCHEME, SECURE_SCHEME)
    return frozenset((host, request_scheme) for host in hosts for request_scheme in schemes)


def _is_plain_host(name: str) -> bool:
    """Whether every URL parser reads the lower-cased ``name`` as the same host: a valid IPv6 literal, a
    canonical dotted IPv4 address, or a host name of non-empty labels whose last one is not number-like (WHATWG
    parsers read ``0x7f.1`` or ``2130706433`` as IPv4 addresses, others look them up as names)."""
    if name.startswith("["):
        try:
            IPv6Address(name[1:-1])
        except ValueError:
            return False
        return True
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return False
    if labels[-1].isdigit() or _HEX_NUMBER.fullmatch(labels[-1]):
        return len(labels) == _IPV4_PARTS and all(
            _DECIMAL_OCTET.fullmatch(label) and int(label) <= _MAX_OCTET for label in labels)
    return True


def _with_token_slot(uri: str) -> tuple[str, str]:
    """Split ``uri`` around where the token value goes: after ``token=`` in its query, replacing the value
    of an existing token parameter (and dropping any further ones), before any fragment."""
    base, hash_sign, fragment = uri.partition("#")
    path, question_mark, query = base.partition("?")
    tail = hash_sign + fragment
    assignment = f"{TOKEN_PARAM}="
    if not question_mark:
        return f"{path}?{assignment}", tail
    params = query.split("&")
    first = next((i for i, param in enumerate(params) if _is_token_param(param)), None)
    if first is None:
        separator = "&" if query and not query.endswith("&") else ""
        return f"{path}?{query}{separator}{assignment}", tail
    kept_after = [param for param in params[first + 1:] if not _is_token_param(param)]
    before = "".join(f"{param}&" for param in params[:first])
    return f"{path}?{before}{assignment}", "".join(f"&{param}" for param in kept_after) + tail


def _is_token_param(param: str) -> bool:
    return unquote_plus(param.partition("=")[0]) == TOKEN_PARAM


def _variants(items: Sequence[_Item], host: str) -> _Variants:
    """The chunks for requests to ``host`` over https and http (the same object when they do not differ)."""
    https = _join_chunks(items, (host, SECURE_SCHEME))
    http = _join_chunks(items, (host, PLAIN_SCHEME))
    return _Variants(https=https, http=https if http == https else http)


def _join_chunks(items: Sequence[_Item], request: _Target | None) -> _Chunks:
    """The literal UTF-8 chunks between token slots for ``request`` (``None``: a request naming no host)."""
    chunks: list[bytes] = []
    pending: list[str] = []
    for item in items:
        if item is _SLOT:
            chunks.append("".join(pending).encode("utf-8"))
            pending = []
        elif isinstance(item, str):
            pending.append(item)
        elif request in item.targets:
            pending.append(item.before)
            chunks.append("".join(pending).encode("utf-8"))
            pending = [item.after]
        else:
            pending.append(item.original)
    chunks.append("".join(pending).encode("utf-8"))
    return tuple(chunks)
