"""Posts with duties (设岗定责): set a post, holders consent, monthly 履岗, year-end assessment.

    /post 柑桔种植技术服务岗          secretary: name, then duties and "≥" target lines
        → roster buttons → each holder asked ✅ / ❌
    report_day monthly (planner): [✅ 按要求履岗] [📝 说说做了什么] [🙋 本月未能履岗：原因]
        → per numeric target: [+1] [+2] [+3] [+5] [✔] or a typed number
    28 December (planner): the branch's leaders assess each holder on the 兑现 scale
    /posts                            the branch's posts (public); a holder's own progress

Built on the pledge cycle rather than beside it: who answers (the member, or
a helper acting for them with the author kept) is handlers.pledges.acting's
`load_me`; when the month is open, when asks and follow-ups go out and when
the assessment opens are bot.domain.pledges' rules on the same report_day;
typed answers use the pledges' pending-input helpers; ratings use the
pledges' 兑现 scale and labels.  Posts only supply their words and rules
(bot.domain.posts).

Callback data (feature "ps"):

    ps:h:<post>:<member>          secretary picks a holder
    ps:c:<holder>:<y|n>           the holder consents or declines
    ps:r:<holder>:<yyyymm>:<done|note|miss>   the monthly report
    ps:why:<holder>:<yyyymm>:<reason>         why not this month
    ps:n:<holder>:<yyyymm>:<target>:<amount>  count on a numeric target
    ps:nd:<holder>:<yyyymm>:<target>          no (more) count on it
    ps:a:<holder>:<rating>                    year-end assessment
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callback_data import INT, decode, optional_subject, pack, pattern, with_subject
from bot.domain import pledges as cycle
from bot.domain import posts as rules
from bot.domain.localtime import zone
from bot.domain.outgoing import OutgoingMessage, occurrence_key, quiet_hours
from bot.domain.permissions import can_manage_branch, is_leader, managed_branches
from bot.domain.report_round import Ask, Planned, Round, report_round, round_messages
from bot.errors import InvalidInput
from bot.i18n import raw, t
from bot.ledger import LEDGER_LANGUAGE
from bot.report_parts import (
    RollupFigure,
    Sheet,
    add_digest_section,
    add_ledger_sheet,
    add_rollup_figure,
)
from bot.scheduling import add_planner
from bot.services import Services, get_services
from handlers import awaiting
from handlers.acting_for import Reader, carrying, readers_of
from handlers.awaiting import TypedAnswer
from handlers.common import clear_buttons, load_actor, load_units, reply
from handlers.keyboards import MAX_BUTTONS, button_grid
from handlers.pledges.acting import Me, language_of, load_me, month_is_open
from handlers.pledges.acting import open_month as member_open_month
from handlers.pledges.inputs import INPUT_TTL, answer_data, await_answer, expired
from handlers.pledges.messaging import edit, parse_or_explain, send, stale, tell_leaders
from handlers.pledges.render import month_label, rating_label
from storage.repositories import members, people, roles, units
from storage.repositories import posts as repo
from storage.repositories.pending_inputs import PendingInput
from storage.repositories.posts import Holder, Post, PostTarget

__all__ = ["digest_lines", "ledger_sheet", "open_reports", "plan_posts", "register", "report_asks"]

FEATURE = "ps"
NOTE = "post.note"  # {"h": holder, "m": yyyymm}
REASON = "post.reason"  # {"h": holder, "m": yyyymm}
COUNT = "post.count"  # {"h": holder, "m": yyyymm, "t": target}
_COUNT_STEPS = (1, 2, 3, 5)


# ---------------------------------------------------------------- rendering


def _num(value: float | None) -> str:
    return cycle.format_number(value or 0)


def _target_text(language: str, target: PostTarget) -> str:
    if target.target is None:
        return t(language, "posts.target_plain", label=target.label)
    return t(
        language,
        "posts.target",
        label=target.label,
        target=_num(target.target),
        unit=target.unit or "",
    )


def card(language: str, post: Post, targets: Sequence[PostTarget]) -> str:
    """Return a post's duties and targets, one line each."""
    lines = []
    if post.duties:
        lines.append(t(language, "posts.duties", duties="；".join(post.duties.splitlines())))
    mine = [x for x in targets if x.post_id == post.id]
    if mine:
        lines.append(
            t(
                language,
                "posts.targets",
                targets=raw("；".join(_target_text(language, x) for x in mine)),
            )
        )
    return "\n".join(lines)


def _button(text: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=pack(FEATURE, *(str(a) for a in args)))


def report_keyboard(language: str, holder_id: int, month: int) -> InlineKeyboardMarkup:
    """Return the three one-tap answers of the monthly 履岗 report."""
    return InlineKeyboardMarkup(
        [
            [_button(t(language, "posts.btn_done"), "r", holder_id, month, "done")],
            [_button(t(language, "posts.btn_note"), "r", holder_id, month, "note")],
            [_button(t(language, "posts.btn_missed"), "r", holder_id, month, "miss")],
        ]
    )




# ---------------------------------------------------------------- setting a post


async def cmd_post(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set a post from the typed name, duties and targets, then offer the roster as holders."""
    services = get_services(context)
    actor = await load_actor(update, context)
    branches = managed_branches(actor, await load_units(context))
    if not branches:
        await reply(update, actor.language, "errors.not_secretary")
        return
    body = (update.effective_message.text or "").partition(" ")[2]
    first = body.split(maxsplit=1)
    by_key = {b.key: b for b in branches}
    if first and first[0] in by_key:
        branch, body = by_key[first[0]], first[1] if len(first) > 1 else ""
    elif len(branches) == 1:
        branch = branches[0]
    else:
        await reply(update, actor.language, "posts.several_branches")
        return
    try:
        spec = rules.parse_post(body)
    except InvalidInput as problem:
        await reply(update, actor.language, problem.key, **problem.params)
        return
    now = services.clock.now()
    tz = zone(branch.timezone, services.settings.general.default_timezone)
    year = cycle.local_year(now, tz)
    post_id = await repo.create_post(
        services.db,
        branch_id=branch.id,
        year=year,
        name=spec.name,
        duties="\n".join(spec.duties),
        targets=[(x.label, x.target, x.unit) for x in spec.targets],
        by=actor.person_id,
        now=int(now.timestamp()),
    )
    post = await repo.get_post(services.db, post_id)
    assert post is not None
    targets = await repo.targets_of(services.db, [post_id])
    roster = await members.list_branch_members(services.db, branch.id, ("active",))
    keys = [
        _button(row.name or str(row.member.id), "h", post_id, row.member.id)
        for row in roster[:MAX_BUTTONS]
    ]
    text = t(actor.language, "posts.created", name=spec.name, branch=branch.name, year=year)
    text += "\n" + card(actor.language, post, targets)
    if not roster:
        text += "\n" + t(actor.language, "posts.no_roster")
    await update.effective_chat.send_message(
        text, reply_markup=InlineKeyboardMarkup(button_grid(keys)) if keys else None
    )


async def _leader_of_post(
    update: Update, context: ContextTypes.DEFAULT_TYPE, post_id: int
) -> tuple[str, Post] | None:
    """Return (language, post) if the presser leads the post's branch, else answer the same way."""
    actor = await load_actor(update, context)
    # Checked before anything is said about the post: ids are sequential.
    post = await repo.get_post(get_services(context).db, post_id) if is_leader(actor) else None
    if post is None or not can_manage_branch(actor, post.branch_id, await load_units(context)):
        await stale(update, actor.language, "errors.button_not_allowed")
        return None
    return actor.language, post


async def button_holder(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Ask the picked member to hold the post (a member without Telegram holds it at once)."""
    services = get_services(context)
    found = await _leader_of_post(update, context, int(args[0]))
    if found is None:
        return
    language, post = found
    member = await members.get_member(services.db, int(args[1]))
    if member is None or member.branch_id != post.branch_id or member.status != "active":
        await stale(update, language)
        return
    before = {h.member_id: h for h in await repo.holders_of(services.db, [post.id])}
    holder = await repo.ask_holder(services.db, post.id, member.id, now=services.now_ts())
    name = holder.name or ""
    if member.id in before and before[member.id].status != "declined":
        await update.callback_query.answer(
            t(
                language,
                "posts.holder_already",
                name=name,
                state=t(language, f"posts.state_{holder.status}"),
            )
        )
        return
    await update.callback_query.answer()
    if holder.telegram_id is None:
        # No Telegram: the secretary, who registered them, records their consent.
        await repo.decide_holder(services.db, holder.id, accept=True, now=services.now_ts())
        await reply(update, language, "posts.told_accepted", name=name, post=post.name)
        return
    branch = await units.get_unit(services.db, post.branch_id)
    targets = await repo.targets_of(services.db, [post.id])
    lang = holder.language or services.settings.general.default_language
    text = t(
        lang,
        "posts.consent_ask",
        branch=branch.name if branch else "",
        post=post.name,
        year=post.year,
        card=raw(card(lang, post, targets)),
    )
    markup = InlineKeyboardMarkup(
        [
            [
                _button(t(lang, "posts.btn_accept"), "c", holder.id, "y"),
                _button(t(lang, "posts.btn_decline"), "c", holder.id, "n"),
            ]
        ]
    )
    await send(context, holder.telegram_id, text, markup)
    await reply(update, language, "posts.holder_asked", name=name, post=post.name)


async def _own_holder(
    update: Update, services: Services, holder_id: int
) -> tuple[Me, Holder] | None:
    """Return the member (or the one a helper acts for) and their holder row, else answer."""
    me = await load_me(update, services)
    holder = await repo.get_holder(services.db, holder_id) if me is not None else None
    # One refusal whether the holder row exists, is someone else's, or the presser is no member.
    if me is None or holder is None or holder.member_id != me.member.id:
        language = me.language if me else language_of(update, services, None)
        await stale(update, language, "errors.button_not_allowed")
        return None
    return me, holder


async def button_consent(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Record the member's ✅ / ❌ to holding a post and tell the branch's leaders."""
    services = get_services(context)
    found = await _own_holder(update, services, int(args[0]))
    if found is None:
        return
    me, holder = found
    accept = args[1] == "y"
    if not await repo.decide_holder(services.db, holder.id, accept=accept, now=services.now_ts()):
        await stale(update, me.language)
        return
    post = await repo.get_post(services.db, holder.post_id)
    assert post is not None
    await update.callback_query.answer()
    await clear_buttons(update)
    await reply(
        update, me.language, "posts.accepted" if accept else "posts.declined", post=post.name
    )
    key = "posts.told_accepted" if accept else "posts.told_declined"
    await tell_leaders(
        context,
        services,
        post.branch_id,
        lambda lang: (t(lang, key, name=holder.name or "", post=post.name), None),
    )


# ---------------------------------------------------------------- the monthly report


async def _open_report(
    update: Update, services: Services, holder_id: int, month: int
) -> tuple[Me, Holder, Post] | None:
    """Return who reports on which post for the open month, or answer why not."""
    found = await _own_holder(update, services, holder_id)
    if found is None:
        return None
    me, holder = found
    post = await repo.get_post(services.db, holder.post_id)
    if holder.status != "accepted" or post is None or month // 100 != post.year:
        await stale(update, me.language)
        return None
    if not await month_is_open(update, services, me, month, "posts.stale_month"):
        return None
    return me, holder, post


async def _save_report(
    services: Services, me: Me, holder: Holder, month: int, status: str, *, note: str | None
) -> None:
    """Store the month's report, naming the helper who entered it for the holder (代为登记)."""
    await repo.save_report(
        services.db, holder.id, month, status, note=note, now=services.now_ts(),
        entered_by=me.entered_by,
    )


async def button_report(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Take the one-tap 履岗 answer: done (then counts), a note, or why not."""
    services = get_services(context)
    month, choice = int(args[1]), args[2]
    found = await _open_report(update, services, int(args[0]), month)
    if found is None:
        return
    me, holder, post = found
    await update.callback_query.answer()
    await clear_buttons(update)
    if choice == "done":
        await _save_report(services, me, holder, month, "done", note=None)
        await _next_count(update, services, me, holder, post, month, after=0)
    elif choice == "note":
        await await_answer(services, me.chat_id, NOTE, subject=me.subject, h=holder.id, m=month)
        await reply(update, me.language, "posts.ask_note")
    else:
        await await_answer(
            services, me.chat_id, REASON, subject=me.subject, h=holder.id, m=month
        )
        keys = [
            _button(t(me.language, f"posts.reason_{r}"), "why", holder.id, month, r)
            for r in rules.REASONS
        ]
        await reply(
            update,
            me.language,
            "posts.ask_reason",
            reply_markup=carrying(InlineKeyboardMarkup(button_grid(keys)), me.subject),
        )


async def _next_count(
    update: Update,
    services: Services,
    me: Me,
    holder: Holder,
    post: Post,
    month: int,
    *,
    after: int,
) -> None:
    """Ask for the month's count on the next numeric target after `after`, or finish."""
    targets = [
        x
        for x in await repo.targets_of(services.db, [post.id])
        if x.target is not None and x.id > after
    ]
    if not targets:
        await awaiting.done(services, me.chat_id, COUNT)
        await _finish(update, services, me, month)
        return
    target = targets[0]
    done = (await repo.counts_for(services.db, [holder.id])).get((holder.id, target.id), 0.0)
    await await_answer(
        services, me.chat_id, COUNT, subject=me.subject, h=holder.id, m=month, t=target.id
    )
    keys = [_button(f"+{n}", "n", holder.id, month, target.id, n) for n in _COUNT_STEPS]
    keys.append(_button(t(me.language, "posts.btn_count_done"), "nd", holder.id, month, target.id))
    await reply(
        update,
        me.language,
        "posts.ask_count",
        label=target.label,
        unit=target.unit or "",
        target=_num(target.target),
        done=_num(done),
        reply_markup=carrying(InlineKeyboardMarkup(button_grid(keys, columns=5)), me.subject),
    )


async def _finish(update: Update, services: Services, me: Me, month: int) -> None:
    helper = ""
    if me.entered_by is not None:
        person = await people.get_person(services.db, me.entered_by)
        helper = t(me.language, "posts.by_helper", name=person.name if person else "")
    await reply(update, me.language, "posts.saved", month=month_label(me.language, month))
    if helper:
        await update.effective_chat.send_message(helper)


async def _count(
    update: Update,
    services: Services,
    me: Me,
    holder: Holder,
    post: Post,
    month: int,
    target_id: int,
    amount: float,
) -> None:
    targets = {x.id: x for x in await repo.targets_of(services.db, [post.id])}
    target = targets.get(target_id)
    if target is None or target.target is None:
        await reply(update, me.language, "errors.stale_button")
        return
    if amount:
        total = await repo.add_count(services.db, holder.id, target.id, month, amount)
        await reply(
            update,
            me.language,
            "posts.counted",
            label=target.label,
            amount=_num(amount),
            unit=target.unit or "",
            done=_num(total),
            target=_num(target.target),
        )
    await _next_count(update, services, me, holder, post, month, after=target.id)


async def button_count(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Add a tapped count (+1 … +5) to a numeric target, then ask about the next."""
    services = get_services(context)
    found = await _open_report(update, services, int(args[0]), int(args[1]))
    if found is None:
        return
    me, holder, post = found
    amount = int(args[3]) if len(args) > 3 else 0
    if amount not in (0, *_COUNT_STEPS):
        await stale(update, me.language)
        return
    await update.callback_query.answer()
    await clear_buttons(update)
    await _count(update, services, me, holder, post, int(args[1]), int(args[2]), amount)


async def button_why(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Record a missed month with a tapped reason."""
    services = get_services(context)
    month = int(args[1])
    found = await _open_report(update, services, int(args[0]), month)
    if found is None:
        return
    me, holder, _ = found
    await update.callback_query.answer()
    await clear_buttons(update)
    reason = html.unescape(t(me.language, f"posts.reason_{args[2]}"))
    await _missed(update, services, me, holder, month, reason)


async def _missed(
    update: Update, services: Services, me: Me, holder: Holder, month: int, reason: str
) -> None:
    await awaiting.done(services, me.chat_id, REASON)
    await _save_report(services, me, holder, month, "missed", note=reason)
    await reply(
        update,
        me.language,
        "posts.saved_missed",
        month=month_label(me.language, month),
        reason=reason,
    )


async def _typed_report(
    update: Update, services: Services, pending: PendingInput, kind: str
) -> tuple[Me, Holder, Post, int, dict[str, object]] | None:
    me = await load_me(update, services)
    data = answer_data(pending)
    holder = await repo.get_holder(services.db, int(data.get("h", 0)))
    post = await repo.get_post(services.db, holder.post_id) if holder else None
    month = int(data.get("m", 0))
    if (
        me is None
        or holder is None
        or post is None
        or holder.member_id != me.member.id
        or month != member_open_month(me, services)
    ):
        await expired(update, services, me, kind)
        return None
    return me, holder, post, month, data


async def typed_note(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Record what the holder did this month, then ask for the counts."""
    services = get_services(context)
    found = await _typed_report(update, services, pending, NOTE)
    if found is None:
        return
    me, holder, post, month, _ = found
    note = await parse_or_explain(update, me.language, cycle.clean_comment, text)
    if note is None:
        return
    await awaiting.done(services, me.chat_id, NOTE)
    await _save_report(services, me, holder, month, "done", note=note)
    await _next_count(update, services, me, holder, post, month, after=0)


async def typed_reason(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Record a missed month with the typed reason."""
    services = get_services(context)
    found = await _typed_report(update, services, pending, REASON)
    if found is None:
        return
    me, holder, _, month, _ = found
    reason = await parse_or_explain(update, me.language, cycle.clean_comment, text)
    if reason is not None:
        await _missed(update, services, me, holder, month, reason)


async def typed_count(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pending: PendingInput, text: str
) -> None:
    """Add a typed count to the target asked about."""
    services = get_services(context)
    found = await _typed_report(update, services, pending, COUNT)
    if found is None:
        return
    me, holder, post, month, data = found
    amount = await parse_or_explain(update, me.language, rules.parse_count, text)
    if amount is None:
        return
    await _count(update, services, me, holder, post, month, int(str(data.get("t", 0))), amount)


# ---------------------------------------------------------------- year-end assessment


async def button_assess(
    update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
) -> None:
    """Record the leader's 兑现 assessment of a holder and tell the holder."""
    services = get_services(context)
    actor = await load_actor(update, context)
    holder = await repo.get_holder(services.db, int(args[0])) if is_leader(actor) else None
    post = await repo.get_post(services.db, holder.post_id) if holder else None
    if (
        holder is None
        or post is None
        or not can_manage_branch(actor, post.branch_id, await load_units(context))
    ):
        await stale(update, actor.language, "errors.button_not_allowed")
        return
    rating = args[1]
    await repo.rate_holder(
        services.db, holder.id, rating, by=actor.person_id, now=services.now_ts()
    )
    await update.callback_query.answer()
    await edit(
        update,
        t(
            actor.language,
            "posts.assessed",
            name=holder.name or "",
            post=post.name,
            rating=rating_label(actor.language, rating),
        ),
    )
    if holder.telegram_id is not None:
        lang = holder.language or services.settings.general.default_language
        await send(
            context,
            holder.telegram_id,
            t(
                lang,
                "posts.told_assessed",
                post=post.name,
                year=post.year,
                rating=rating_label(lang, rating),
            ),
        )


# ---------------------------------------------------------------- /posts


def _count_text(
    language: str,
    counts: dict[tuple[int, int], float],
    holder_id: int,
    post: Post,
    targets: Sequence[PostTarget],
) -> str:
    """Return "label done/target unit" for each numeric target of the post, as counted so far."""
    return "".join(
        t(
            language,
            "posts.mine_count",
            label=x.label,
            done=_num(counts.get((holder_id, x.id))),
            target=_num(x.target),
            unit=x.unit or "",
        )
        for x in targets
        if x.post_id == post.id and x.target is not None
    )


async def _progress(
    services: Services, language: str, holder: Holder, post: Post, targets: Sequence[PostTarget]
) -> str:
    reports = await repo.reports_for(services.db, [holder.id])
    counts = await repo.counts_for(services.db, [holder.id])
    count_text = _count_text(language, counts, holder.id, post, targets)
    rating = (
        t(language, "posts.mine_rating", rating=rating_label(language, holder.rating))
        if holder.rating
        else ""
    )
    return t(
        language,
        "posts.mine_progress",
        post=post.name,
        reported=sum(r.status == "done" for r in reports),
        counts=raw(count_text),
        rating=raw(rating),
    )


async def cmd_posts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the branch's posts and holders (public); holders also see their own progress."""
    services = get_services(context)
    actor = await load_actor(update, context)
    all_units = await load_units(context)
    by_id = {u.id: u for u in all_units}
    leader = is_leader(actor)
    if leader:
        branches = managed_branches(actor, all_units)
    elif actor.member_branch_ids:
        branches = [by_id[b] for b in sorted(actor.member_branch_ids)]
    else:
        await reply(update, actor.language, "errors.not_member")
        return
    language = actor.language
    blocks = []
    file_buttons: list[InlineKeyboardButton] = []
    for branch in branches:
        year = cycle.local_year(
            services.clock.now(), zone(branch.timezone, services.settings.general.default_timezone)
        )
        posts = await repo.branch_posts(services.db, branch.id, year)
        if not posts:
            blocks.append(t(language, "posts.none", branch=branch.name, year=year))
            continue
        targets = await repo.targets_of(services.db, [p.id for p in posts])
        holders = await repo.holders_of(services.db, [p.id for p in posts])
        lines = [t(language, "posts.list_title", branch=branch.name, year=year)]
        for post in posts:
            lines.append(f"\n<b>{html.escape(post.name)}</b>")
            lines.append(card(language, post, targets))
            shown = [
                h for h in holders if h.post_id == post.id and (h.status == "accepted" or leader)
            ]
            names = "、".join(
                html.escape(h.name or "")
                + (
                    ""
                    if h.status == "accepted"
                    else f"（{t(language, f'posts.state_{h.status}')}）"
                )
                for h in shown
            )
            lines.append(
                t(language, "posts.holders", names=raw(names))
                if names
                else t(language, "posts.no_holders")
            )
        blocks.append("\n".join(line for line in lines if line))
        if leader:
            # A holder without Telegram cannot answer the monthly ask: the
            # secretary files it from here, acting for them (代为登记).
            offline = [h.member_id for h in holders if h.telegram_id is None]
            file_buttons += [
                InlineKeyboardButton(
                    t(language, "posts.btn_file_for", name=h.name or ""),
                    callback_data=with_subject(pack(FEATURE, "f", h.holder_id), h.member_id),
                )
                for h, _ in await open_reports(services, offline)
            ]
    person = await people.get_person_by_telegram(services.db, actor.telegram_id)
    membership = await members.current_membership(services.db, person.id) if person else None
    if membership is not None:
        mine = [
            h
            for h in await repo.member_holders(services.db, membership.id)
            if h.status == "accepted"
        ]
        if mine:
            posts_by_id = {h.post_id: await repo.get_post(services.db, h.post_id) for h in mine}
            targets = await repo.targets_of(services.db, list(posts_by_id))
            lines = [f"<b>{t(language, 'posts.mine_title')}</b>"]
            for holder in mine:
                post = posts_by_id[holder.post_id]
                if post is not None:
                    lines.append(await _progress(services, language, holder, post, targets))
            blocks.append("\n".join(lines))
    await update.effective_chat.send_message(
        "\n\n".join(blocks),
        reply_markup=InlineKeyboardMarkup(button_grid(file_buttons[:MAX_BUTTONS], columns=1))
        if file_buttons
        else None,
    )


# ---------------------------------------------------------------- the planner


async def plan_posts(services: Services, now: datetime) -> list[OutgoingMessage]:
    """Return the monthly 履岗 asks, their follow-up and the year-end assessment asks due now."""
    years = [now.year - 1, now.year]
    holders = await repo.planned_holders(services.db, years)
    if not holders:
        return []
    settings = services.settings.pledges
    default_tz = services.settings.general.default_timezone
    default_language = services.settings.general.default_language
    targets = await repo.targets_of(services.db, sorted({h.post_id for h in holders}))
    posts = {h.post_id: await repo.get_post(services.db, h.post_id) for h in holders}
    found: list[OutgoingMessage] = []
    leaders: dict[int, list[tuple[int, int, str | None]]] = {}
    for h in holders:
        post = posts[h.post_id]
        if post is None:
            continue
        tz = zone(h.timezone, default_tz)
        hours = cycle.member_hours(h.category, services.settings.study)
        month = cycle.open_month(now, settings.report_day, tz, hours)
        this = report_round(now, month, settings, tz, hours, h.away_until)
        if (
            month // 100 == h.year
            and h.decided_at <= this.asked_at.timestamp()
            and not await repo.reports_for(services.db, [h.holder_id], month)
        ):
            # A holder without Telegram is asked through their helpers, as meetings do.
            for reader in await readers_of(
                services.db, h.member_id, h.person_id, h.telegram_id, h.language
            ):
                found += [
                    p.build()
                    for p in _report_round(
                        this, h, reader, post, targets, reader.language or default_language
                    )
                ]
        opens = cycle.evaluation_ask_moment(h.year, now, tz, hours)
        if opens is not None and h.rating is None:
            found += await _assess_asks(services, now, h, post, targets, opens, leaders)
    return found


def _report_round(
    this: Round,
    h: repo.ActiveHolder,
    reader: Reader,
    post: Post,
    targets: Sequence[PostTarget],
    language: str,
) -> list[Planned]:
    """Return the holder's 履岗 ask and follow-up: posts' words on the shared round."""
    month = this.month
    # A helper's copy names the holder on every button and says whom it is for.
    subject = h.member_id if reader.for_member else None
    markup = carrying(report_keyboard(language, h.holder_id, month), subject).to_dict()
    head = t(language, "posts.for_member", name=h.name or "") + "\n" if subject else ""
    ask = Ask(
        "post.report",
        occurrence_key("post.report", h.member_id, f"h{h.holder_id}", f"{month}{reader.suffix}"),
        lambda: (head + report_text(language, h.post_name, month, post, targets), markup),
    )

    def followup(number: int) -> Ask:
        key = occurrence_key(
            "post.followup", h.member_id, f"h{h.holder_id}", f"{month}.{number}{reader.suffix}"
        )
        text = head + t(
            language, "posts.followup", post=h.post_name, month=month_label(language, month)
        )
        return Ask("post.followup", key, lambda: (text, markup))

    return round_messages(this, reader.person_id, reader.chat_id, [ask], followup)


def report_text(
    language: str, post_name: str, month: int, post: Post, targets: Sequence[PostTarget]
) -> str:
    """Return the monthly 履岗 question for a post."""
    return t(
        language,
        "posts.report_ask",
        post=post_name,
        month=month_label(language, month),
        card=raw(card(language, post, targets)),
    )


async def _assess_asks(
    services: Services,
    now: datetime,
    h: repo.ActiveHolder,
    post: Post,
    targets: Sequence[PostTarget],
    opens: datetime,
    leaders: dict[int, list[tuple[int, int, str | None]]],
) -> list[OutgoingMessage]:
    if h.branch_id not in leaders:
        leaders[h.branch_id] = await roles.nearest_leaders(services.db, h.branch_id)
    reports = await repo.reports_for(services.db, [h.holder_id])
    counts = await repo.counts_for(services.db, [h.holder_id])
    found = []
    for person_id, telegram_id, leader_language in leaders[h.branch_id]:
        if person_id == h.person_id:
            continue  # nobody assesses their own post
        language = leader_language or services.settings.general.default_language
        count_text = _count_text(language, counts, h.holder_id, post, targets)
        summary = t(
            language,
            "posts.assess_summary",
            reported=sum(r.status == "done" for r in reports),
            months=12,
            missed=sum(r.status == "missed" for r in reports),
            counts=raw(count_text),
        )
        keys = [
            _button(t(language, f"pledges.rating.{r}"), "a", h.holder_id, r) for r in cycle.RATINGS
        ]
        found.append(
            OutgoingMessage(
                dedupe_key=occurrence_key("post.assess", h.member_id, f"h{h.holder_id}", person_id),
                kind="post.assess",
                person_id=person_id,
                chat_id=telegram_id,
                text=t(
                    language,
                    "posts.assess_ask",
                    year=h.year,
                    name=h.name or "",
                    post=h.post_name,
                    summary=raw(summary),
                ),
                due_at=int(
                    cycle.send_time(
                        opens,
                        now,
                        zone(h.timezone, None),
                        cycle.member_hours("regular", services.settings.study),
                    ).timestamp()
                ),
                reply_markup=InlineKeyboardMarkup(button_grid(keys)).to_dict(),
                **quiet_hours(zone(h.timezone, None), "regular"),
            )
        )
    return found


# ---------------------------------------------------------------- digest and ledger


async def digest_lines(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> list[str]:
    """Return "🏷 岗位 N 个，本月履岗汇报 a/b；未报：X" when a holder has not reported yet."""
    holders, due, reported = await _month_reports(services, branch_id)
    missing = [h for h, _ in due if h.holder_id not in reported]
    if not missing:
        return []
    names = "、".join(dict.fromkeys(h.name or t(language, "digest.anonymous") for h in missing))
    return [
        t(
            language,
            "posts.digest_line",
            posts=len({h.post_id for h in holders}),
            reported=len(reported),
            due=len(due),
            names=names,
        )
    ]


async def rollup_figure(
    services: Services, branch_id: int, start: int, end: int, language: str
) -> RollupFigure:
    """Return the roll-up's "履岗未报 N": holders whose report for this month is missing."""
    _, due, reported = await _month_reports(services, branch_id)
    missing = len({h.holder_id for h, _ in due} - reported)
    return RollupFigure(t(language, "posts.rollup", count=missing), missing)


async def _month_reports(
    services: Services, branch_id: int
) -> tuple[list[repo.ActiveHolder], list[tuple[repo.ActiveHolder, int]], set[int]]:
    """Return the year's holders, those whose 履岗 report is due now, and who reported."""
    now = services.clock.now()
    holders = await repo.planned_holders(services.db, [now.year], branch_id)
    due = [
        (h, month) for h in holders if (month := _due_month(services, h, now)) is not None
    ]
    reported: set[int] = set()
    for h, month in due:
        if await repo.reports_for(services.db, [h.holder_id], month):
            reported.add(h.holder_id)
    return holders, due, reported


def _due_month(services: Services, h: repo.ActiveHolder, now: datetime) -> int | None:
    """Return the month whose 履岗 report the holder owes now (asked after consent), or None."""
    settings = services.settings.pledges
    tz = zone(h.timezone, services.settings.general.default_timezone)
    hours = cycle.member_hours(h.category, services.settings.study)
    month = cycle.open_month(now, settings.report_day, tz, hours)
    report_at = cycle.report_moment(month, settings.report_day, tz, hours)
    return month if month // 100 == h.year and h.decided_at <= report_at.timestamp() else None


async def open_reports(
    services: Services, member_ids: Sequence[int]
) -> list[tuple[repo.ActiveHolder, int]]:
    """Return the members' held posts whose report for the open month is due and not yet in."""
    now = services.clock.now()
    found = []
    for h in await repo.planned_holders(services.db, [now.year - 1, now.year]):
        month = _due_month(services, h, now) if h.member_id in member_ids else None
        if month is not None and not await repo.reports_for(services.db, [h.holder_id], month):
            found.append((h, month))
    return found


async def report_asks(
    services: Services, language: str, member_id: int, holder_id: int | None = None
) -> list[tuple[str, InlineKeyboardMarkup]]:
    """Return the member's due 履岗 questions for a helper: "代 X 汇报", buttons naming them."""
    found = []
    for h, month in await open_reports(services, [member_id]):
        if holder_id is not None and h.holder_id != holder_id:
            continue
        post = await repo.get_post(services.db, h.post_id)
        if post is None:
            continue
        targets = await repo.targets_of(services.db, [post.id])
        text = t(language, "posts.for_member", name=h.name or "") + "\n"
        text += report_text(language, h.post_name, month, post, targets)
        found.append((text, carrying(report_keyboard(language, h.holder_id, month), member_id)))
    return found


async def button_file(update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]) -> None:
    """Show a holder's due 履岗 question to the helper or leader whose press names them."""
    services = get_services(context)
    found = await _own_holder(update, services, int(args[0]))
    if found is None:
        return
    me, holder = found
    asks = await report_asks(services, me.language, me.member.id, holder.id)
    if not asks or me.subject is None:
        await stale(update, me.language, "posts.nothing_due")
        return
    await update.callback_query.answer()
    for text, markup in asks:
        await update.effective_chat.send_message(text, reply_markup=markup)


async def ledger_sheet(services: Services, branch_id: int) -> Sheet | None:
    """Return the 设岗定责 sheet: every post of the branch, one row per holder."""
    z = LEDGER_LANGUAGE
    found = []
    for year in sorted({p.year for p in await _all_posts(services, branch_id)}):
        posts = await repo.branch_posts(services.db, branch_id, year)
        targets = await repo.targets_of(services.db, [p.id for p in posts])
        holders = await repo.holders_of(services.db, [p.id for p in posts])
        reports = await repo.reports_for(services.db, [h.id for h in holders])
        counts = await repo.counts_for(services.db, [h.id for h in holders])
        helpers = {r.entered_by for r in reports if r.entered_by is not None}
        helper_names = {pid: (await people.get_person(services.db, pid)) for pid in helpers}
        for post in posts:
            mine = [x for x in targets if x.post_id == post.id]
            target_text = "；".join(html.unescape(_target_text(z, x)) for x in mine)
            for h in [h for h in holders if h.post_id == post.id] or [None]:
                if h is None:
                    found.append(
                        [post.name, post.year, post.duties, target_text, "", "", 0, 0, "", "", ""]
                    )
                    continue
                theirs = [r for r in reports if r.holder_id == h.id]
                count_text = "；".join(
                    f"{x.label} {_num(counts.get((h.id, x.id)))}/{_num(x.target)}"
                    for x in mine
                    if x.target is not None
                )
                by = {
                    html.unescape(p.name or "")
                    for r in theirs
                    if r.entered_by is not None
                    for p in [helper_names.get(r.entered_by)]
                    if p is not None
                }
                found.append(
                    [
                        post.name,
                        post.year,
                        post.duties,
                        target_text,
                        h.name or html.unescape(t(z, "digest.anonymous")),
                        html.unescape(t(z, f"posts.state_{h.status}")),
                        sum(r.status == "done" for r in theirs),
                        sum(r.status == "missed" for r in theirs),
                        count_text,
                        html.unescape(rating_label(z, h.rating)) if h.rating else "",
                        "、".join(sorted(by)),
                    ]
                )
    if not found:
        return None
    return Sheet(
        html.unescape(t(z, "posts.ledger_sheet")),
        html.unescape(t(z, "posts.ledger_head")).split("|"),
        found,
    )


async def _all_posts(services: Services, branch_id: int) -> list[Post]:
    year = services.clock.now().year
    found: list[Post] = []
    for y in (year - 1, year):
        found += await repo.branch_posts(services.db, branch_id, y)
    return found


# ---------------------------------------------------------------- wiring

_Button = Callable[[Update, ContextTypes.DEFAULT_TYPE, list[str]], Awaitable[None]]
_BUTTONS: dict[str, tuple[tuple[object, ...], _Button]] = {
    "h": ((INT, INT), button_holder),
    "c": ((INT, frozenset({"y", "n"})), button_consent),
    "r": ((INT, INT, frozenset(rules.REPORT_CHOICES)), button_report),
    "why": ((INT, INT, frozenset(rules.REASONS)), button_why),
    "n": ((INT, INT, INT, frozenset(str(n) for n in _COUNT_STEPS)), button_count),
    "nd": ((INT, INT, INT), button_count),
    "a": ((INT, frozenset(cycle.RATINGS)), button_assess),
    "f": ((INT,), button_file),
}
_SHAPES = {action: shape for action, (shape, _) in _BUTTONS.items()}
# The holder's report buttons may name the member a helper acts for (f<member>).
_SHAPES.update(optional_subject({a: _SHAPES[a] for a in ("r", "why", "n", "nd", "f")}))
_TYPED: dict[str, TypedAnswer] = {NOTE: typed_note, REASON: typed_reason, COUNT: typed_count}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a post button; malformed data raises MalformedButton (answered as stale)."""
    pressed = decode(update.callback_query.data, FEATURE, _SHAPES)
    await _BUTTONS[pressed.action][1](update, context, pressed.args)


def register(app: Application) -> None:
    """Add /post, /posts, the ps: buttons, typed answers, the planner and report parts."""
    app.add_handler(CommandHandler("post", cmd_post))
    app.add_handler(CommandHandler("posts", cmd_posts))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(FEATURE)))
    awaiting.register(app)
    app.add_handler(awaiting.typed_answers(app, _TYPED, ttl=INPUT_TTL))
    add_planner(app, "posts", plan_posts)
    add_digest_section("posts", digest_lines)
    add_ledger_sheet("posts", ledger_sheet)
    add_rollup_figure("posts", rollup_figure)
