"""The choice labels of /study and /meeting: plain text, the same for both features."""

from bot.domain.models import Level, Unit
from handlers.publish_targets import target_label


def _unit(level: Level, name: str) -> Unit:
    return Unit(id=1, key="k", parent_id=None, level=level, name=name, kind="")


def test_a_branch_is_its_name() -> None:
    assert target_label("zh", "meetings.target_all", _unit(Level.BRANCH, "一支部"), 1) == "一支部"


def test_a_unit_label_is_plain_text_for_a_button() -> None:
    # A button shows text as is: the catalogue's HTML escaping would show "&amp;" there.
    label = target_label("zh", "meetings.target_all", _unit(Level.COMMITTEE, "工&商党委"), 3)
    assert "工&商党委" in label and "&amp;" not in label
