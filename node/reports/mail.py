"""Status mails: a reporter who left an e-mail address hears of each status change.

Only the village where the report was made knows the address, so only it mails, also
for reports another village handles (their changes arrive as events). A background task
looks for changes not yet mailed whenever something is committed; each change is mailed
at most once, and a failure is noted, not retried forever. The operator turns it on and
names the SMTP server (`notify`, `smtp_host`, `smtp_port`, `mail_from`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage

from aiohttp import web
from sqlmodel import Session, col, select

from allmende.node.db import transaction
from allmende.node.reports import service
from allmende.node.reports.models import Mail, Report, Reporter, Update
from allmende.node.runtime import Node

log = logging.getLogger(__name__)
STATUS_TEXT = {
    "offen": ("ist eingegangen und offen", "has been received and is open"),
    "in_bearbeitung": ("wird bearbeitet", "is being worked on"),
    "erledigt": ("ist erledigt", "has been resolved"),
}


def pending(session: Session, here: str) -> list[tuple[Update, Report, Reporter]]:
    """Changes of reports made here, to reporters with an address, not mailed yet."""
    rows = session.exec(
        select(Update, Report, Reporter)
        .where(Update.report_id == Report.id, Reporter.report_id == Report.id)
        .where(Report.origin == here, Reporter.email != "")
        .where(col(Update.id).not_in(select(Mail.update_id)))
        .order_by(col(Update.time))
        .limit(100)
    )
    return list(rows)


def message(node: Node, update: Update, report: Report, to: str) -> EmailMessage:
    de, en = STATUS_TEXT.get(update.status, (update.status, update.status))
    mail = EmailMessage()
    mail["Subject"] = f"Ihre Meldung „{report.service_name}“ {de}"
    mail["To"] = to
    page = f"{node.base_url}/open311/v2/requests/{report.id}.json"
    lines = [
        "Guten Tag,",
        "",
        f"Ihre Meldung „{report.service_name}“ (Nummer {report.id}) {de}.",
    ]
    if update.description:
        lines += ["", f"Hinweis der Gemeinde: {update.description}"]
    lines += [
        "",
        f"Stand der Meldung: {page}",
        "",
        f"Gemeinde {node.settings.node.name}",
        "",
        "--",
        f"Your report “{report.service_name}” ({report.id}) {en}.",
    ]
    mail.set_content("\n".join(lines))
    return mail


def send_all(node: Node) -> int:
    """Mail what is pending; blocking (runs on a worker thread)."""
    with Session(node.engine) as session:
        config = service.settings(session)
        if not config["notify"] or not config["smtp_host"]:
            return 0
        work = pending(session, node.id)
    sent = 0
    for update, report, reporter in work:
        mail = message(node, update, report, reporter.email)
        mail["From"] = config["mail_from"] or f"maengelmelder@{node.settings.node.name}"
        try:
            with smtplib.SMTP(config["smtp_host"], int(config["smtp_port"]), timeout=10) as smtp:
                smtp.send_message(mail)
            outcome = "sent"
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            outcome = f"failed: {type(exc).__name__}"[:300]
            log.warning("a status mail could not be sent", extra={"report": report.id})
        with transaction(node.engine) as session:
            session.add(Mail(update_id=update.id, sent=service.now(), outcome=outcome))
    return sent


async def notifier(app: web.Application) -> AsyncIterator[None]:
    """Mail pending changes after each commit (and every minute)."""
    node: Node = app["node"]
    wake = asyncio.Event()

    def poke() -> None:
        wake.set()

    async def keep() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(60):
                    await wake.wait()
            wake.clear()
            try:
                await asyncio.to_thread(send_all, node)
            except Exception:
                log.exception("status mails failed")

    node.commit_listeners.append(poke)
    task = asyncio.create_task(keep())
    yield
    node.commit_listeners.remove(poke)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
