"""Every role's menu and /help, in every language, from keys that exist (issue 10, item 5)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from bot.domain.menus import (
    ADMIN_ONLY,
    EVERYONE,
    HELPER,
    LEADER,
    MEMBER,
    PERSON,
    Roles,
    allowed_commands,
    keep_allowed_lines,
)
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
    for name in ("leave", "forget", "away", "timezone", "mypledges", "me", "moving", "transfer",
                 "buttons", "mymeetings", "attend", "helpfor"):
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


HANDLERS = Path(__file__).resolve().parents[2] / "handlers"


def _registered_commands() -> set[str]:
    """Return every command a CommandHandler(...) in handlers/ is registered for."""
    names: set[str] = set()
    for path in HANDLERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "CommandHandler"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    return names


def test_every_registered_command_is_in_some_roles_menu() -> None:
    registered = _registered_commands()
    assert {"helpfor", "post", "campaign", "gongshi", "moving", "buttons"} <= registered
    offered = set(EVERYONE + PERSON + MEMBER + HELPER + LEADER + ADMIN_ONLY)
    assert registered - offered == set(), "registered but in no role's menu"
    assert offered - registered == set(), "in a menu but never registered"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("roles", ALL_ROLES, ids=repr)
def test_help_explains_every_command_in_the_roles_menu(roles: Roles, language: str) -> None:
    text = help_text(language, roles)
    shown = {line[1:].split()[0] for line in text.split("\n") if line.startswith("/")}
    # /start is how one arrives, not something to look up in /help.
    assert set(allowed_commands(roles)) - {"start"} <= shown, roles


def test_new_features_reach_the_right_roles() -> None:
    member = set(allowed_commands(Roles(has_person=True, member=True)))
    assert {"moving", "transfer", "buttons", "posts", "campaign"} <= member
    assert not {"post", "gongshi", "elderly", "helpfor"} & member
    # A 联系人 is a stored person who is no member: /helpfor, nothing of a member's.
    contact = set(allowed_commands(Roles(has_person=True, helper=True)))
    assert {"helpfor", "checkin"} <= contact
    assert not {"moving", "mypledges", "campaign", "post"} & contact
    leader = set(allowed_commands(Roles(has_person=True, leader=True)))
    assert {"post", "posts", "campaign", "gongshi", "elderly", "pair"} <= leader
    assert not {"moving", "transfer", "buttons", "helpfor"} & leader
    zh = help_text("zh", Roles(has_person=True, helper=True))
    assert "/helpfor" in zh and "联系人" in zh
