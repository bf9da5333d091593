"""A slow answer's pane: the banner says it computes as soon as the question changes, the
answer on screen is marked as the previous choice's until the new one replaces it."""

from __future__ import annotations

import asyncio
import threading
import time

import param

from components.answer_pane import AnswerPane


async def until(condition) -> None:
    """Wait (polling the event loop) until ``condition()`` holds, at most 30 s."""
    deadline = time.monotonic() + 30
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # polling interval
    assert condition()


class Question(param.Parameterized):
    value = param.Integer(default=0)


def test_a_new_question_marks_the_answer_on_screen_stale_until_its_answer_comes():
    question = Question()
    release = {0: threading.Event(), 1: threading.Event()}

    def compute():
        asked = question.value
        release[asked].wait(30)  # the answer is ready when the test says
        return f"answer to {asked}"

    def shown(pane) -> str:
        inner = pane.body[0]._inner_layout
        return str(inner[0].object) if len(inner) else ""

    async def run():
        # made in the event loop, as a server session makes it
        pane = AnswerPane(compute, [question.param.value], what="the sum")
        pane.__panel__().get_root()  # shown: a pane answers once it is on a page
        release[0].set()
        await until(lambda: "answer to 0" in shown(pane))
        assert not pane.banner.visible
        question.value = 1  # at once, before any answer: the banner and the stale mark
        assert pane.banner.visible and "Computing the sum" in pane.banner.object
        assert "stale" in pane.banner.css_classes  # its note: for the previous choice
        assert pane.body.styles["opacity"] == "0.4" and pane.computing
        release[1].set()
        await until(lambda: "answer to 1" in shown(pane))
        assert not pane.banner.visible and pane.body.styles["opacity"] == "1"
        assert "stale" not in pane.banner.css_classes
        assert not pane.computing

    asyncio.run(run())
