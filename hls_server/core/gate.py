"""The gate: the one door every endpoint asks. ``await gate.authorize(credentials, action, target) -> Grant``.

In this order, so that a missing stream and a forbidden one look the same to a caller without a token:

1. which token (:meth:`Credentials.present`: missing, two different ones, an unsupported scheme);
0. a switch that opens the action: ``auth.play`` off opens playback and player configs to anyone (:data:`PUBLIC`),
   ``auth.publish`` off opens ingest to anyone (:data:`PUBLIC_PUBLISH`); each is switched on its own, so open
   playback with secured publishing (or the other way round) is a setting, not a special case;
2. is it good, under the keys of the kind the action wants (viewer keys for play and publish, admin keys for the
   REST API, admin then viewer keys for a player config); admin tokens never travel in the URL;
3. does it allow this action on this target (:func:`grants.allows`), else :class:`Forbidden` saying why.

Only then does the caller touch the filesystem. Every refusal is an error of the tree in ``errors``; the web
layer maps them to answers in one place. The gate knows no HTTP.
"""

from __future__ import annotations

from typing import Protocol

from .auth.credentials import Credentials, Presented
from .auth.verifier import Verifier
from .errors import AuthError, Forbidden, TokenInvalid, TokenMissing, Unavailable
from .grants import NO_TARGET, PUBLIC, PUBLIC_ACTIONS, Action, Grant, Groups, Role, Target, allows, refusal

PUBLIC_PUBLISH = Grant(Role.PUBLISH, public=True)
"""The grant of any ingest request on a server with ``auth.publish`` off: it carries no ``jti``."""


class GroupSource(Protocol):
    """What the gate reads group membership and kind from (the group store's immutable snapshot)."""

    @property
    def snapshot(self) -> Groups: ...


class Gate:
    def __init__(self, *, viewer: Verifier | None, admin: Verifier | None, groups: GroupSource,
                 play_open: bool | None = None, publish_open: bool = False) -> None:
        """``play_open``: anyone may play (``auth.play`` off; by default when there is no ``viewer`` verifier).
        ``publish_open``: anyone may publish (``auth.publish`` off). ``viewer`` None with publishing secured: no
        key to check publish tokens (503). ``admin`` None: no REST API (503)."""
        self._viewer = viewer
        self._admin = admin
        self._groups = groups
        self._play_open = viewer is None if play_open is None else play_open
        self._publish_open = publish_open

    @property
    def verifiers(self) -> tuple[Verifier, ...]:
        return tuple(v for v in (self._viewer, self._admin) if v is not None)

    async def authorize(self, credentials: Credentials, action: Action, target: Target = NO_TARGET) -> Grant:
        """The grant of the request's one token for ``action`` on ``target``, or the error that refuses it."""
        if action is Action.ADMIN:
            grant = await self._admin_grant(credentials)
        elif action in PUBLIC_ACTIONS and self._play_open:
            return PUBLIC
        elif action is Action.PUBLISH and self._publish_open:
            return PUBLIC_PUBLISH
        elif self._viewer is None:
            raise Unavailable("publishing needs a key to check publish tokens: set HLSGATE_JWT_SECRET (or "
                              "auth.jwks_url, auth.public_keys), or open ingest with --no-publish-auth")
        else:
            grant = await self._viewer_grant(credentials.present(), action, self._viewer)
        groups = self._groups.snapshot
        if not allows(grant, action, target, groups):
            raise Forbidden(refusal(grant, action, target, groups))
        return grant

    async def _admin_grant(self, credentials: Credentials) -> Grant:
        if self._admin is None:
            raise Unavailable("the REST API is off: set HLSGATE_ADMIN_SECRET (or admin.jwks_url) to enable it")
        presented = credentials.present()
        if presented.in_query:
            raise TokenMissing("admin tokens go in the Authorization header (never in the URL)")
        return await self._admin.verify(presented.token)

    async def _viewer_grant(self, presented: Presented, action: Action, viewer: Verifier) -> Grant:
        if action is not Action.PLAYER_CONFIG or presented.in_query or self._admin is None:
            return await viewer.verify(presented.token)
        # A player config is for an admin (who gets a freshly minted token) or a viewer: admin keys first.
        try:
            return await self._admin.verify(presented.token)
        except AuthError as admin_error:
            try:
                return await viewer.verify(presented.token)
            except TokenInvalid:
                # The signature held under the admin keys but the token is expired, early ...: that says more
                # than "invalid signature" from the viewer keys.
                if not isinstance(admin_error, TokenInvalid):
                    raise admin_error from None
                raise
