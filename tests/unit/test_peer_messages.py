"""What a peer sends is printed safely: one line, printable, bounded, visibly shortened."""

from __future__ import annotations

from smpc_bench.engine.peer_messages import MAX_TEXT, clean


def test_short_text_is_kept_and_control_characters_are_blanked() -> None:
    assert clean("party 2 stopped\n\x1b[31mred") == "party 2 stopped  [31mred"


def test_long_text_is_cut_at_a_word_and_marked() -> None:
    text = " ".join(["word"] * 400)
    shown = clean(text)
    assert len(shown) <= MAX_TEXT and shown.endswith("word...")
    assert clean(text, 50) == " ".join(["word"] * 9) + "..."


def test_text_without_spaces_is_cut_at_the_limit() -> None:
    assert clean("x" * 100, 20) == "x" * 17 + "..."
