"""The listening poll's dialog on its own (dialogs/listening.py): pure, no I/O."""

from __future__ import annotations

from datetime import timedelta

from dialogs import listening, router
from dialogs.types import (
    BadButton,
    ChoiceMade,
    Command,
    Context,
    ParticipantView,
    RecordListening,
    Reply,
    Text,
    Timer,
    Unsupported,
)
from tests.conftest import NOW


def context(**changes) -> Context:
    return Context(now=changes.pop("now", NOW), timezone="Europe/Amsterdam", organisation="Meedoen",
                   areas=("Osdorp",), participant=changes.pop("participant", None), **changes)


def replies(step) -> list[Reply]:
    return [e for e in step.effects if isinstance(e, Reply)]


def started():
    step = router.handle({}, Command("listen"), context())
    assert step.state["flow"] == listening.FLOW
    return step


def test_anyone_may_start_it_and_the_choices_in_progress_are_only_in_the_state():
    step = started()
    step = router.handle(step.state, ChoiceMade("t:1", step.state["q"]), context())
    assert step.state[listening.FLOW]["chosen"] == [1]
    assert [o.label for o in replies(step)[0].options][:2] == ["Werktijden of diensten", "✓ Mijn gezondheid"]


def test_a_stale_button_a_sticker_and_a_forged_button_get_the_question_again():
    step = started()
    q = step.state["q"]
    for event in (ChoiceMade("t:0", q + 1), Unsupported("sticker"), BadButton()):
        again = router.handle(step.state, event, context())
        assert again.state[listening.FLOW]["chosen"] == [] and replies(again)[0].options
    unknown = router.handle(step.state, ChoiceMade("t:99", q), context())
    assert unknown.state[listening.FLOW]["chosen"] == []


def test_typed_text_is_matched_to_a_button_or_not_kept():
    step = started()
    typed = router.handle(step.state, Text("2"), context())  # the second option, typed
    assert typed.state[listening.FLOW]["chosen"] == [1]
    free = router.handle(step.state, Text("I work nights at Schiphol"), context())
    assert "Schiphol" not in repr(free.state) and free.state[listening.FLOW]["chosen"] == []


def test_abandoned_or_expired_the_answers_are_wiped():
    step = started()
    step = router.handle(step.state, ChoiceMade("t:1", step.state["q"]), context())
    woken = router.handle(step.state, Timer("wake"), context(now=NOW + timedelta(minutes=30)))
    assert listening.FLOW not in woken.state and not replies(woken)
    late = router.handle(step.state, ChoiceMade("done", step.state["q"]), context(now=NOW + timedelta(minutes=31)))
    assert listening.FLOW not in late.state and "/listen" in replies(late)[0].text


def test_nothing_chosen_at_all_stores_nothing_and_skips_store_none():
    step = started()
    for _n in range(3):
        step = router.handle(step.state, ChoiceMade("skip", step.state["q"]), context())
    assert not [e for e in step.effects if isinstance(e, RecordListening)]
    step = started()
    for key in ("t:0", "done", "skip", "done"):
        step = router.handle(step.state, ChoiceMade(key, step.state["q"]), context())
    assert [e for e in step.effects if isinstance(e, RecordListening)] == [RecordListening(1, None, None, None)]


def test_a_paused_man_and_one_who_answered_are_not_asked():
    paused = ParticipantView("nl", None, None, "stopped")
    assert listening.FLOW not in router.handle({}, Command("listen"), context(participant=paused)).state
    answered = router.handle({}, Command("listen"), context(listened=True))
    assert listening.FLOW not in answered.state and "al beantwoord" in replies(answered)[0].text


def test_a_listening_link_opens_the_poll_and_carries_its_area():
    step = router.handle({}, Command("start", "listen0_abc"), context(listen_link="Osdorp"))
    assert step.state[listening.FLOW]["area"] == "Osdorp"
    for key in ("t:0", "done", "skip", "skip"):
        step = router.handle(step.state, ChoiceMade(key, step.state["q"]), context())
    assert [e for e in step.effects if isinstance(e, RecordListening)] == [RecordListening(1, None, None, "Osdorp")]
