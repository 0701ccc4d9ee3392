"""Whether a schedule-driven planner's stored next moments still hold (issue 14).

    await look_again_if_rules_changed(services, "pledges",
                                      sections=("general", "study", "pledges"),
                                      modules=(__name__, "bot.domain.pledges"))

A planner stores each member's next moment in member_schedule.  Those moments
follow from the facts (triggers reset them when a fact changes) and from the
planner's rules: its settings sections and the code that computes them.  The
rules' fingerprint is kept per kind in the database; when a process first
plans with rules whose fingerprint differs (other settings, a release that
changed the code), every member of the kind is looked at once more.  Under the
same rules nothing is reset, so a restart, a `--role=planner` process taking
over the lease or a bench's next part costs only what is due.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
import weakref
from collections.abc import Sequence
from pathlib import Path

from bot.services import Services
from storage.repositories import schedule

__all__ = ["look_again_if_rules_changed", "rules_fingerprint"]

# Per connection, the (kind, fingerprint) pairs already checked by this process.
_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.cache
def _code_digest(modules: tuple[str, ...]) -> str:
    """Hash the source files of `modules` (read once per process)."""
    digest = hashlib.sha256()
    for name in modules:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        # A module without a readable file (frozen, zipped) is named instead.
        digest.update(Path(path).read_bytes() if path and Path(path).is_file()
                      else name.encode())
    return digest.hexdigest()


def rules_fingerprint(services: Services, sections: Sequence[str],
                      modules: Sequence[str]) -> str:
    """Return a fingerprint of the settings `sections` and the code of `modules`."""
    settings = {name: dataclasses.asdict(getattr(services.settings, name)) for name in sections}
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(
        (text + _code_digest(tuple(modules))).encode()
    ).hexdigest()


async def look_again_if_rules_changed(services: Services, kind: str, *,
                                      sections: Sequence[str], modules: Sequence[str]) -> None:
    """Make every member of `kind` due once if the rules differ from the last run's."""
    fingerprint = rules_fingerprint(services, sections, modules)
    checked = _CHECKED.setdefault(services.db, set())
    if (kind, fingerprint) in checked:
        return
    await schedule.reset_if_rules_changed(services.db, kind, fingerprint)
    checked.add((kind, fingerprint))
