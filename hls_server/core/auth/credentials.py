"""The tokens a request carries, and where: read by the web layer into :class:`Credentials`, resolved by the gate.

Carriers, as the seeds use them:

- ``?token=`` in the URL (Ant Media's play URLs; what a stock HLS player keeps sending);
- ``Authorization: Bearer <jwt>`` (RFC 6750), or the bare ``Authorization: <jwt>`` of Ant Media's REST filter;
- ``X-OPENTOK-AUTH: <jwt>`` (OpenTok's REST authentication), for admin tokens.

One rule for all of them: a request presents at most one token. Two different ones, wherever they are carried
(two ``token`` parameters, query and header, two ``Authorization`` headers, ``Authorization`` and
``X-OPENTOK-AUTH``), are a :class:`TokenConflict`: which one would win is exactly the ambiguity an attacker looks
for. The same token twice is one token. An empty ``?token=`` carries nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import TokenConflict, TokenInvalid, TokenMissing

BEARER = "bearer"
QUERY_PARAM = "token"
AUTHORIZATION_HEADER = "Authorization"
OPENTOK_HEADER = "X-OPENTOK-AUTH"


@dataclass(frozen=True, slots=True)
class Presented:
    """The one token of a request, and whether it came in the URL (only such a token is written into playlists)."""

    token: str
    in_query: bool


@dataclass(frozen=True, slots=True)
class Credentials:
    """Raw carrier values as the request holds them. Cheap to build; resolved once per request by the gate."""

    query: tuple[str, ...] = ()
    authorization: tuple[str, ...] = ()
    opentok: tuple[str, ...] = ()

    @classmethod
    def of(cls, query: Iterable[str] = (), authorization: Iterable[str] = (),
           opentok: Iterable[str] = ()) -> Credentials:
        return cls(tuple(query), tuple(authorization), tuple(opentok))

    @property
    def query_token(self) -> str | None:
        """The token carried in the URL, if any: after the gate let the request in, it is *the* token."""
        for value in self.query:
            if value:
                return value
        return None

    def present(self) -> Presented:
        """The one token, or :class:`TokenMissing` / :class:`TokenConflict` / :class:`TokenInvalid`."""
        query, authorization, opentok = self.query, self.authorization, self.opentok
        if len(query) == 1 and query[0] and not authorization and not opentok:  # the player's segment requests
            return Presented(query[0], in_query=True)
        in_query = {value for value in self.query if value}
        in_headers = {token for value in self.authorization if (token := _from_authorization(value))}
        in_headers.update(token for value in self.opentok if (token := value.strip()))
        found = in_query | in_headers
        if not found:
            raise TokenMissing("no token: add ?token=... to the URL or send 'Authorization: Bearer ...'")
        if len(found) > 1:
            raise TokenConflict("the request carries two different tokens; send one")
        token = found.pop()
        return Presented(token, in_query=token in in_query)


def _from_authorization(value: str) -> str | None:
    """The token of one ``Authorization`` value: ``Bearer <jwt>`` or a bare ``<jwt>``; None for ``Bearer`` alone."""
    scheme, _, rest = value.strip().partition(" ")
    if not scheme:
        return None
    if scheme.lower() == BEARER:
        return rest.strip() or None
    if not rest:
        return scheme  # the seeds' bare "Authorization: <jwt>"
    raise TokenInvalid("unsupported Authorization scheme: use 'Bearer <token>'")
