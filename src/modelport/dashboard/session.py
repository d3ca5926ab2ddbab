"""Who is looking at the console: the same API keys and JWTs as the API, kept in a cookie.

The login form takes an API key or a JWT and checks it with the server's own
:class:`~modelport.security.authn.Authenticator`; the credential then travels in an
``HttpOnly; SameSite=Strict`` cookie (``Secure`` over HTTPS) that scripts cannot read, and is
verified again on every request (cached, so a revoked key stops working within seconds on
every worker). Nothing is stored server-side, so any worker answers any page.

CSRF: every form carries the value of a second random cookie (double submit); a POST whose
field does not match, or whose ``Origin`` is another site, is refused before anything runs.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from modelport.errors import InvalidInput, ModelportError, PermissionDenied, Unauthenticated
from modelport.security.authn import Authenticator
from modelport.security.roles import ANONYMOUS, Principal

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "BadForm",
    "check_csrf",
    "clear_session",
    "csrf_token",
    "read_form",
    "remember",
    "set_session",
    "who",
]

SESSION_COOKIE = "mp_session"
CSRF_COOKIE = "mp_csrf"
PATH = "/ui"
SESSION_S = 8 * 3600
MAX_COOKIE_TOKEN = 3800
"""Browsers drop cookies over about 4 KB; a longer JWT could never be sent back."""
_MAX_FORM = 64 * 1024


class BadForm(Exception):
    """A POST the console refuses before doing anything (403)."""


def open_mode(authn: Authenticator | None) -> bool:
    """True while the server runs without authentication: everyone is admin."""
    return authn is None or not authn.enforcing


async def who(request: Request, authn: Authenticator | None) -> Principal | None:
    """The principal of this request, or None when it must log in (again)."""
    if authn is None or not authn.enforcing:
        return ANONYMOUS
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await authn.authenticate(f"Bearer {token}", None)
    except (Unauthenticated, PermissionDenied):
        return None


async def login(authn: Authenticator, token: str) -> Principal:
    """Check a credential typed into the login form; Unauthenticated when it is no good."""
    token = token.strip()
    if not token:
        raise Unauthenticated("paste an API key (mp_...) or a JWT", details={"reason": "empty"})
    if len(token) > MAX_COOKIE_TOKEN:
        raise Unauthenticated(
            f"this token is {len(token)} characters; a browser keeps at most "
            f"{MAX_COOKIE_TOKEN} in a cookie: use an API key or a shorter JWT",
            details={"reason": "oversized"})
    try:
        return await authn.authenticate(f"Bearer {token}", None)
    except (Unauthenticated, PermissionDenied):
        raise
    except ModelportError as exc:  # the key database is down, say
        raise Unauthenticated(f"cannot check the credential now: {exc.message}",
                              details={"reason": "unavailable"}) from None


def csrf_token(request: Request) -> str:
    """This browser's CSRF value (a fresh one when it has none; :func:`remember` sets it)."""
    found = request.cookies.get(CSRF_COOKIE, "")
    if len(found) == 64 and all(c in "0123456789abcdef" for c in found):
        return found
    state = request.scope.setdefault("state", {})
    made: str = state.setdefault("mp_csrf", secrets.token_hex(32))
    return made


def remember(request: Request, response: Response, *, secure: bool) -> Response:
    """Set the CSRF cookie on ``response`` when the browser does not hold it yet."""
    token = csrf_token(request)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, path=PATH, httponly=True, samesite="strict",
                            secure=secure)
    return response


def set_session(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token.strip(), max_age=SESSION_S, path=PATH,
                        httponly=True, samesite="strict", secure=secure)


def clear_session(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PATH, httponly=True, samesite="strict",
                           secure=secure)


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as one value per field."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidInput(f"the console takes HTML forms (application/x-www-form-urlencoded), "
                           f"not {kind or 'an unnamed content type'}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            raise InvalidInput(f"form larger than {_MAX_FORM // 1024} KiB")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidInput("the form is not UTF-8") from None
    return {k: v[-1] for k, v in fields.items()}


def check_csrf(request: Request, form: dict[str, str]) -> None:
    """BadForm unless the form's token matches the cookie and the request is same-origin."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise BadForm("the form expired or did not come from this console; reload the page "
                      "and try again")
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise BadForm(f"refused a form sent from another site ({origin[:100]})")
