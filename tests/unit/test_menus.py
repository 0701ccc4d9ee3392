"""Every role's menu and /help, in every language, from keys that exist (issue 10, item 5)."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.menus import Roles, allowed_commands, keep_allowed_lines
from bot.i18n import LANGUAGES, catalogue
from handlers.basics import MEMBER_COMMANDS, command_key, help_text, menu

ALL_ROLES = [
    Roles(has_person=p, member=m, helper=h, leader=le, admin=a)
    for p, m, h, le, a in itertools.product((False, True), repeat=5)
    if p or not (m or h or le)  # members, helpers and leaders are stored people
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("roles", ALL_ROLES, ids=repr)
def test_every_roles_menu_builds_from_its_own_catalogue(roles: Roles, language: str) -> None:
    names = allowed_commands(roles)
    for name in names:
        # Present in this language itself, not only through the zh fallback.
        assert command_key(name) in catalogue(language), (name, language)
    commands = menu(language, names)
    assert [c.command for c in commands] == list(names)
    assert all(1 <= len(c.description) <= 256 for c in commands)
    assert len(names) == len(set(names)) <= 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_default_menu_is_the_members(language: str) -> None:
    assert "mypledges" in MEMBER_COMMANDS and "appoint" not in MEMBER_COMMANDS
    assert menu(language, MEMBER_COMMANDS)


def test_admin_who_is_no_member_gets_no_member_commands() -> None:
    admin = allowed_commands(Roles(admin=True))
    for name in ("leave", "forget", "away", "timezone", "mypledges", "me"):
        assert name not in admin
    assert {"appoint", "invite", "digest", "checkin", "language", "help"} <= set(admin)
    text = help_text("zh", Roles(admin=True))
    for command in ("/leave", "/forget", "/timezone", "/away", "/mypledges", "/me "):
        assert command not in text, command
    assert "/appoint" in text and "/invite" in text and "党员可用命令" not in text


def test_plain_member_sees_no_leader_commands_nor_checkin() -> None:
    roles = Roles(has_person=True, member=True)
    text = help_text("zh", roles)
    assert "/leave" in text and "/mypledges" in text
    for command in ("/invite", "/appoint", "/checkin", "/digest"):
        assert command not in text, command
    helper = help_text("zh", Roles(has_person=True, member=True, helper=True))
    assert "/checkin" in helper


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("roles", ALL_ROLES, ids=repr)
def test_help_lists_exactly_commands_the_roles_allow(roles: Roles, language: str) -> None:
    allowed = set(allowed_commands(roles))
    text = help_text(language, roles)
    assert text
    for line in text.split("\n"):
        if line.startswith("/"):
            assert line[1:].split()[0] in allowed, (line, roles)


def test_keep_allowed_lines_drops_sections_left_empty() -> None:
    section = "<b>Title</b>\n/leave — leave\n/me — me"
    assert keep_allowed_lines(section, {"me"}) == "<b>Title</b>\n/me — me"
    assert keep_allowed_lines(section, {"help"}) == ""
