"""The WebSocket protocol's prepared frames are what websockets itself would send."""

from __future__ import annotations

from websockets.protocol import State
from websockets.server import ServerProtocol

from musewave.service.ws_protocol import text_frame


def _framed_by_websockets(text: str) -> bytes:
    protocol = ServerProtocol()
    protocol.state = State.OPEN
    protocol.send_text(text.encode())
    return b"".join(protocol.data_to_send())


def test_a_prepared_frame_is_the_frame_websockets_builds() -> None:
    for text in ("{}", "é" * 100, "x" * 70_000):  # the three length encodings
        assert text_frame(text) == _framed_by_websockets(text)


def test_a_text_is_framed_once_while_it_is_recent() -> None:
    text = '{"type": "progress"}'
    assert text_frame(text) is text_frame(text)
    equal_but_not_the_same = "".join(['{"type": ', '"progress"}'])
    assert text_frame(equal_but_not_the_same) == text_frame(text)
