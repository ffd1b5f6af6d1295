"""Logging in and out: passwords (throttled, argon2id), single sign-on (OIDC code + PKCE), and a
fresh server-side session at each login.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from igwatch.oauth import OAuthProblem, authorization_request, discover, exchange_code, verified_id_token
from igwatch.render.words import one_line
from igwatch.store import record_audit
from igwatch.store.sessions import SessionUser, end_session, start_session
from igwatch.web.auth import HashingBusy, csrf_token, verify_password
from igwatch.web.site import WebSite, log, render
from igwatch.web.sso import PendingLogin


def login_router(site: WebSite) -> APIRouter:
    router = APIRouter(route_class=site.route_class, include_in_schema=False)

    db, users, sso, settings = site.db, site.users, site.sso, site.settings
    throttle, pending_logins = site.throttle, site.pending_logins

    def login_page(request: Request, next: str, error: str = "", status: int = 200) -> Response:
        return render(
            "login.html",
            status,
            **site.base_context(request),
            next=safe_next(next),
            error=error,
            passwords=users is not None,
            sso_name=sso.name if sso else None,
        )

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return login_page(request, next)

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")
    ) -> Response:
        address = request.client.host if request.client else "?"
        wait = throttle.wait_s(username, address)
        if wait > 0:
            log.warning("login: throttled after repeated failures")
            record_audit(
                db,
                actor=username[:200],
                actor_source="local",
                action="login",
                outcome="refused",
                detail="throttled",
            )
            response = login_page(request, next, f"Too many failed logins: try again in {wait} s.", 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = (users or {}).get(username)
        try:
            verified = users is not None and verify_password(user, password)
        except HashingBusy:
            response = login_page(request, next, "The server is busy: try again in a moment.", 503)
            response.headers["Retry-After"] = "2"
            return response
        if not verified:
            throttle.failed(username, address)
            record_audit(db, actor=username[:200], actor_source="local", action="login", outcome="refused")
            return login_page(request, next, "Unknown user or wrong password.", 401)
        throttle.succeeded(username)
        sign_in(request, SessionUser(username, username, "local"))
        record_audit(db, actor=username, actor_source="local", action="login")
        return RedirectResponse(safe_next(next), status_code=303)

    @router.get("/login/sso")
    async def login_sso(request: Request, next: str = "/") -> Response:
        if sso is None:
            raise HTTPException(404, "Single sign-on is not configured.")
        try:
            config = await discover(sso.discovery_url, f"{sso.name}: OpenID configuration")
            authorization = await authorization_request(
                config, sso, f"{settings.base_url}/login/sso/callback", ["openid", "profile"]
            )
        except OAuthProblem as problem:
            log.warning("sso: %s", problem)
            return login_page(request, next, f"{sso.name} cannot be reached: {problem}", 502)
        pending_logins.add(
            PendingLogin(
                authorization.state, authorization.code_verifier, authorization.nonce, safe_next(next)
            )
        )
        request.state.session["sso_state"] = authorization.state
        return RedirectResponse(authorization.url, status_code=303)

    @router.get("/login/sso/callback")
    async def login_sso_callback(
        request: Request, state: str = "", code: str = "", error: str = "", iss: str = ""
    ) -> Response:
        if sso is None:
            raise HTTPException(404, "Single sign-on is not configured.")
        session: dict[str, Any] = request.state.session
        pending = pending_logins.take(state, session.pop("sso_state", None)) if state else None

        async def refuse(message: str, status: int = 403) -> Response:
            log.warning("sso: login refused: %s", message)
            await run_in_threadpool(
                record_audit,
                db,
                actor=f"{sso.issuer} (unknown)",
                actor_source="sso",
                action="login",
                outcome="refused",
                detail=message,
            )
            return login_page(request, pending.next if pending else "/", message, status)

        if pending is None:
            return await refuse(
                "This sign-in answer does not belong to a login started in this browser (state); log in again.",
                400,
            )
        if error:
            return await refuse(f"{sso.name} did not sign you in ({one_line(error)[:60]}).")
        try:
            config = await discover(sso.discovery_url, f"{sso.name}: OpenID configuration")
            if iss and config.issuer and iss.rstrip("/") != config.issuer.rstrip("/"):
                raise OAuthProblem("the answer comes from another authorization server (iss)")
            token = await exchange_code(
                config, sso, f"{settings.base_url}/login/sso/callback", code, pending.code_verifier
            )
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise OAuthProblem("no ID token in the answer")
            claims = await verified_id_token(id_token, config, sso.client_id, pending.nonce)
        except OAuthProblem as problem:
            return await refuse(f"{sso.name}: {problem}")
        identity = f"{sso.issuer} {claims['sub']}"
        if not sso.admits(claims):
            log.warning("sso: login refused: not in an allowed group")
            await run_in_threadpool(
                record_audit,
                db,
                actor=identity,
                actor_source="sso",
                action="login",
                outcome="refused",
                detail="not in an allowed group",
            )
            return login_page(
                request,
                pending.next,
                f"Your {sso.name} account is not in a group allowed to use igwatch.",
                403,
            )
        name = one_line(str(claims.get("name") or claims.get("preferred_username") or claims["sub"]))[:80]
        await run_in_threadpool(sign_in, request, SessionUser(name, identity, "sso"))
        await run_in_threadpool(record_audit, db, actor=identity, actor_source="sso", action="login")
        return RedirectResponse(pending.next, status_code=303)

    def sign_in(request: Request, who: SessionUser) -> None:
        """A new server-side session (never the one the browser came with: no fixation)."""
        session: dict[str, Any] = request.state.session
        session.clear()
        session["token"] = start_session(db, who)
        csrf_token(session)

    @router.post("/logout")
    def logout(request: Request) -> Response:
        token = request.state.session.get("token")
        if isinstance(token, str):
            end_session(db, token)  # the cookie, wherever a copy of it is, no longer signs anyone in
        if request.state.who is not None:
            record_audit(
                db, actor=request.state.who.identity, actor_source=request.state.who.source, action="logout"
            )
        request.state.session.clear()
        return RedirectResponse("/login" if site.login_required else "/", status_code=303)

    return router


def safe_next(target: str) -> str:
    """Only a path on this site (never //host or a scheme) is a place to go after login."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
