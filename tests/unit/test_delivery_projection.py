"""The deliveries read model as a pure function of the events."""

from __future__ import annotations

from events.submission import Submission
from services.delivery.projection import DeliveryRow, apply
from tests.unit.test_submission_follow_up import DELIVERY, dispatched


class Projected:
    """A submission's events so far, and the row they make."""

    def __init__(self, submission: Submission, has_callback: bool = True) -> None:
        self.submission = submission
        self.events: list[Submission.Event] = []
        self.has_callback = has_callback

    def row(self) -> DeliveryRow:
        self.events.extend(self.submission.collect_events())  # type: ignore[arg-type]
        row = None
        for event in self.events:
            if getattr(event, "delivery_id", None) == DELIVERY:
                row = apply(row, event, lambda _authority: self.has_callback)
        assert row is not None
        return row


def test_dispatch_opens_a_row_with_a_callback_due_at_once() -> None:
    row = Projected(dispatched()).row()
    assert row.state == "open"
    assert row.callback_due == row.dispatched_at
    assert row.label() == "dispatched"
    assert Projected(dispatched(), has_callback=False).row().callback_due is None


def test_rows_follow_callbacks_reminders_escalation_and_the_receipt() -> None:
    projected = Projected(dispatched())
    projected.submission.record_callback(
        DELIVERY, 0, 1, failure="HTTP 503", retry_at="2030-01-01T00:00:00+00:00"
    )
    row = projected.row()
    assert (row.callback_attempts, row.callback_due) == (1, 1893456000.0)
    projected.submission.record_callback(DELIVERY, 0, 2, failure="HTTP 503")
    assert projected.row().label() == "dead-letter"
    projected.submission.remind(DELIVERY, 1, 3.0)
    projected.submission.escalate(DELIVERY, 14.0)
    row = projected.row()
    assert (row.reminders, row.notice, row.callback_attempts, row.escalated) == (1, 1, 0, True)
    assert row.callback_due is not None  # the reminder is announced by callback too
    assert row.label() == "escalated"
    projected.submission.accept(DELIVERY, None)
    row = projected.row()
    assert (row.state, row.callback_due, row.label()) == ("accepted", None, "accepted")


def test_events_already_applied_do_not_change_a_row() -> None:
    projected = Projected(dispatched())
    projected.submission.record_callback(DELIVERY, 0, 1, status_code=200)
    row = projected.row()
    assert row.callback_due is None
    assert apply(row, projected.events[-1], lambda _a: True) == row
    assert apply(row, projected.events[3], lambda _a: True) != row  # Dispatched starts afresh


def test_an_erasure_ends_the_open_delivery_so_nothing_more_is_announced() -> None:
    projected = Projected(dispatched())
    assert projected.row().state == "open"
    projected.submission.erase(
        by="dsb", rule=None, legal_basis="Art. 17 DSGVO", reason="Antrag", destroyed={}
    )
    row = projected.row()
    assert row.state == "erased"  # the notifier acts on open rows only
    assert row.callback_due is None
    assert row.label() == "erased"


def test_a_follow_up_delivery_has_a_row_of_its_own_without_reminders_until_answered() -> None:
    submission = dispatched()
    submission.hand_in("s-1", answers=None, dossier="x/y", parts=[], request_digest="d")
    submission.dispatch_supplement("s-1", "follow-up-1", "amtsweg.delivery.x", {})
    rows: dict[str, DeliveryRow | None] = {}

    def project() -> DeliveryRow | None:
        for event in submission.collect_events():
            assert isinstance(event, Submission.Event)
            delivery_id = getattr(event, "delivery_id", None)
            if isinstance(delivery_id, str):
                rows[delivery_id] = apply(rows.get(delivery_id), event, lambda _authority: True)
        return rows["follow-up-1"]

    follow_up = project()
    assert follow_up is not None
    assert (follow_up.state, follow_up.callback_due, follow_up.label()) == (
        "follow-up",
        None,
        "follow-up",
    )
    assert follow_up.submission_id == str(submission.id)
    submission.acknowledge_supplement("follow-up-1", "accepted", [])
    answered = project()
    assert answered is not None
    assert (answered.state, answered.callback_due) == ("accepted", None)  # no longer waits
    main = rows[DELIVERY]
    assert main is not None
    assert main.state == "open"  # the case's own delivery is untouched
