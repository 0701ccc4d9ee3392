"""/gongshi: the branch's 公示 picture (pledges, post holders, stars) sent to its secretary.

/gongshi [branch key]     a leader: one picture per branch (the named one, or each led)
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.domain import pledges as cycle
from bot.domain.localtime import zone
from bot.domain.permissions import managed_branches
from bot.gongshi import LANGUAGE, Gongshi, render_gongshi
from bot.i18n import t
from bot.services import Services, get_services
from handlers.common import load_actor, load_units, reply
from storage.repositories import campaigns, pledges, posts

__all__ = ["gongshi_data", "register"]

# More than this many branches in one command is a county's worth of pictures.
MAX_PICTURES = 10


async def gongshi_data(
    services: Services, branch_id: int, branch_name: str, timezone: str | None
) -> Gongshi:
    """Return what the branch publishes this year: approved pledges, holders, stars."""
    now = services.clock.now()
    tz = zone(timezone, services.settings.general.default_timezone)
    year = cycle.local_year(now, tz)
    today = now.astimezone(tz).date()
    pledge_rows = [
        (row.name or "", p.text)
        for row in await pledges.branch_pledges(services.db, branch_id, year)
        for p in row.pledges
        if p.status == "approved"
    ]
    branch_posts = await posts.branch_posts(services.db, branch_id, year)
    holders = await posts.holders_of(services.db, [p.id for p in branch_posts])
    post_rows = [
        (
            post.name,
            [h.name or "" for h in holders if h.post_id == post.id and h.status == "accepted"],
        )
        for post in branch_posts
    ]
    star_rows = [
        (s.title, s.name or "") for s in await campaigns.stars_in(services.db, branch_id, year)
    ]
    return Gongshi(
        branch=branch_name,
        year=year,
        # A printed notice outlives the week: the full date, as notices are signed.
        date=t(LANGUAGE, "gongshi.date", year=today.year, month=today.month, day=today.day),
        pledges=pledge_rows,
        posts=post_rows,
        stars=star_rows,
    )


async def cmd_gongshi(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the leader each branch's 公示 picture, ready to print."""
    services = get_services(context)
    actor = await load_actor(update, context)
    branches = managed_branches(actor, await load_units(context))
    if context.args:
        branches = [b for b in branches if b.key == context.args[0]]
    if not branches:
        await reply(update, actor.language, "gongshi.no_branch")
        return
    for branch in branches[:MAX_PICTURES]:
        data = await gongshi_data(services, branch.id, branch.name, branch.timezone)
        await update.effective_chat.send_photo(
            await render_gongshi(data),
            caption=t(actor.language, "gongshi.caption", branch=branch.name),
        )


def register(app: Application) -> None:
    """Add /gongshi."""
    app.add_handler(CommandHandler("gongshi", cmd_gongshi))
