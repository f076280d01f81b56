"""Cán bộ: the staff list, an invitation with a scope (the link to forward), revoking a role — the same rules as the
chat's ``/invite``, ``/staff`` and ``/revoke`` (bot/staff): organizers invite officers, administrators also
organizers; only administrators see the list and revoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.clock import iso
from bot.staff import audit, invites, roles
from bot.staff.invites import InviteError, InviteRequest, parse_request
from bot.staff.roles import RANK, Scope
from handlers.web.render import page
from handlers.web.session import desk, form_of, lang_of, signed_in, text_field
from storage import invites as invite_repo
from storage.staff import list_staff


async def _page(request: Request, user: object, **extra: object) -> Response:
    found = desk(request)
    lang = lang_of(request)
    is_admin = getattr(user, "role", "") == "admin"
    members = []
    if is_admin:
        async with found.db.reading() as conn:
            for member in await list_staff(conn):
                scope = Scope.from_json(member.scope) if member.role == "officer" else roles.EVERYTHING
                members.append((f"{member.channel}:{member.external_id}", member.role, member.full_name or "—",
                                roles.describe_scope(scope, found.settings, lang)))
            open_invites = await invite_repo.count_open(conn, iso(found.clock()))
    else:
        open_invites = 0
    admins = [f"telegram:{admin}" for admin in found.settings.bot.admins] if is_admin else []
    can_invite = [role for role in ("officer", "organizer") if RANK[getattr(user, "role", "officer")] > RANK[role]]
    return page(request, "staff.html", user, members=members, admins=admins, open_invites=open_invites,
                is_admin=is_admin, can_invite=can_invite, hamlets=found.settings.hamlets(),
                fields=found.settings.fields, **extra)


async def staff_page(request: Request) -> Response:
    user = await signed_in(request, "organizer")
    return await _page(request, user)


async def invite(request: Request) -> Response:
    """The same words as ``/invite``: a role, then the scope (hamlets, fields) chosen in the form."""
    user = await signed_in(request, "organizer")
    form = await form_of(request, user)
    found = desk(request)
    role = text_field(form, "role", 20)
    hamlets = [v for v in form.getlist("hamlet") if isinstance(v, str) and v]
    fields = [v for v in form.getlist("field") if isinstance(v, str) and v]
    words = role + (f" ap={','.join(hamlets)}" if hamlets else "") + (f" linhvuc={','.join(fields)}" if fields else "")
    try:
        request_made: InviteRequest = parse_request(found.settings, words)
        if RANK[user.role] <= RANK[request_made.role]:
            raise InviteError("roles.invite_not_allowed", role=role)
    except InviteError as refusal:
        return await _page(request, user, error=refusal.text(lang_of(request)))
    async with found.db.transaction() as conn:
        token = await invites.create_for(conn, user.actor(), request_made, found.clock())
    return await _page(request, user, link=invites.link_for(found.bot_username, token), invited=request_made.role)


async def revoke(request: Request) -> Response:
    user = await signed_in(request, "admin")
    form = await form_of(request, user)
    found = desk(request)
    identity = roles.parse_identity(text_field(form, "who", 100))
    note = "revoke_unknown"
    if identity is not None and not roles.is_config_admin(found.settings, *identity):
        async with found.db.transaction() as conn:
            role = await roles.role_of(conn, found.settings, *identity)
            if role is not None and await roles.revoke(conn, *identity):
                await audit.record(conn, user.actor(), "revoke", ":".join(identity), now=found.clock(), role=role)
                note = "revoked"
    return await _page(request, user, note=note)


ROUTES = [
    Route("/staff", staff_page, methods=["GET"]),
    Route("/staff/invite", invite, methods=["POST"]),
    Route("/staff/revoke", revoke, methods=["POST"]),
]
