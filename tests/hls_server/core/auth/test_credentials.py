"""Where tokens are carried, and the one rule for them: one token per request, wherever it comes from."""

from __future__ import annotations

import pytest

from hls_server.core.auth.credentials import Credentials
from hls_server.core.errors import AuthError, TokenConflict, TokenInvalid, TokenMissing

A, B = "tok.A.sig", "tok.B.sig"

# (query values, Authorization values, X-OPENTOK-AUTH values) -> the token, and whether it came in the URL
PRESENTED: dict[str, tuple[list[str], list[str], list[str], str, bool]] = {
    "query only": ([A], [], [], A, True),
    "header Bearer": ([], [f"Bearer {A}"], [], A, False),
    "header bearer": ([], [f"bearer {A}"], [], A, False),
    "header BEARER": ([], [f"BEARER {A}"], [], A, False),
    "header bare": ([], [A], [], A, False),
    "header padded": ([], [f"  Bearer   {A}  "], [], A, False),
    "query and header equal": ([A], [f"Bearer {A}"], [], A, True),
    "query and bare header equal": ([A], [A], [], A, True),
    "query twice, same value": ([A, A], [], [], A, True),
    "empty query value beside a header": ([""], [f"Bearer {A}"], [], A, False),
    "empty query value beside another": (["", A], [], [], A, True),
    "empty Bearer beside a query token": ([A], ["Bearer "], [], A, True),
    "two equal Authorization headers": ([], [f"Bearer {A}", A], [], A, False),
    "OpenTok header": ([], [], [A], A, False),
    "OpenTok header padded": ([], [], [f" {A} "], A, False),
    "OpenTok and Authorization equal": ([], [f"Bearer {A}"], [A], A, False),
}

REFUSED: dict[str, tuple[list[str], list[str], list[str], type[AuthError]]] = {
    "query and header differ": ([A], [f"Bearer {B}"], [], TokenConflict),
    "query and bare header differ": ([A], [B], [], TokenConflict),
    "two query values differ": ([A, B], [], [], TokenConflict),
    "two equal query values, header differs": ([A, A], [f"Bearer {B}"], [], TokenConflict),
    "two Authorization headers differ": ([], [f"Bearer {A}", f"Bearer {B}"], [], TokenConflict),
    "two Authorization headers, bare and Bearer, differ": ([], [A, f"Bearer {B}"], [], TokenConflict),
    "Authorization and OpenTok differ": ([], [f"Bearer {A}"], [B], TokenConflict),
    "query and OpenTok differ": ([A], [], [B], TokenConflict),
    "two OpenTok headers differ": ([], [], [A, B], TokenConflict),
    "nothing": ([], [], [], TokenMissing),
    "empty query value": ([""], [], [], TokenMissing),
    "empty header": ([], [""], [], TokenMissing),
    "blank header and empty query": ([""], ["   "], [], TokenMissing),
    "blank OpenTok header": ([], [], ["  "], TokenMissing),
    "Basic scheme": ([], ["Basic dXNlcjpwYXNz"], [], TokenInvalid),
    "Basic scheme beside a query token": ([A], ["Basic dXNlcjpwYXNz"], [], TokenInvalid),
    "Digest scheme": ([], [f'Digest response="{A}"'], [], TokenInvalid),
    "Bearer with nothing after it": ([], ["Bearer"], [], TokenMissing),
    "Bearer and spaces": ([], ["bearer   "], [], TokenMissing),
}


@pytest.mark.parametrize(("query", "authorization", "opentok", "token", "in_query"), PRESENTED.values(),
                         ids=PRESENTED.keys())
def test_present(query: list[str], authorization: list[str], opentok: list[str], token: str, in_query: bool) -> None:
    presented = Credentials.of(query, authorization, opentok).present()
    assert (presented.token, presented.in_query) == (token, in_query)


@pytest.mark.parametrize(("query", "authorization", "opentok", "error"), REFUSED.values(), ids=REFUSED.keys())
def test_present_refuses(query: list[str], authorization: list[str], opentok: list[str],
                         error: type[AuthError]) -> None:
    with pytest.raises(AuthError) as caught:
        Credentials.of(query, authorization, opentok).present()
    assert type(caught.value) is error
    assert A not in str(caught.value) and B not in str(caught.value)


@pytest.mark.parametrize(("query", "expected"), [([A], A), (["", A], A), ([""], None), ([], None)])
def test_only_a_token_in_the_url_is_the_query_token(query: list[str], expected: str | None) -> None:
    """What a playlist may carry: an empty ``?token=`` beside a header token is no URL token (bug 5)."""
    assert Credentials.of(query, [f"Bearer {A}"] if expected is None and query else []).query_token == expected
