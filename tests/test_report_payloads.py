"""Payload decoding for the case file: -EncodedCommand and FromBase64String layers, raw kept."""

from __future__ import annotations

import base64
import gzip

from hypothesis import given
from hypothesis import strategies as st

from hivescan.render.report.payloads import MAX_DECODED, decode_payloads


def _enc(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


@given(st.text(min_size=6, max_size=300))
def test_encoded_command_round_trips_any_script(script: str) -> None:
    try:
        script.encode("utf-16-le")
    except UnicodeEncodeError:
        return  # lone surrogates cannot be in a real command line
    raw = _enc(script)
    for switch in ("-enc", "-EncodedCommand", "-e", "/ec", "-ENCOD"):
        found = decode_payloads("image_path", f"powershell.exe -nop {switch} {raw}")
        assert found[0].raw == raw and found[0].decoded == script and found[0].how == "utf-16le", switch


@given(st.text(max_size=400))
def test_any_text_decodes_without_raising(text: str) -> None:
    for payload in decode_payloads("image_path", text):
        assert payload.raw  # what was decoded is always kept


def test_other_switches_are_not_read_as_encoded_commands() -> None:
    assert decode_payloads("image_path", "powershell -ExecutionPolicy Bypassing -File C:\\x.ps1") == []
    assert decode_payloads("image_path", "powershell -w hiddenwindowed") == []


def test_nested_gzip_literal_is_decoded_and_a_bad_one_says_so() -> None:
    inner = base64.b64encode(gzip.compress(b"Write-Host pwned")).decode()
    script = f'$s=New-Object IO.MemoryStream(,[Convert]::FromBase64String("{inner}"));IEX $s'
    outer, layer = decode_payloads("image_path", f"powershell -enc {_enc(script)}")
    assert outer.decoded == script
    assert (layer.decoded, layer.how, layer.note) == ("Write-Host pwned", "gzip+utf-8", "")
    broken = script.replace(inner, inner + "A")  # one character past a multiple of four
    _, bad = decode_payloads("image_path", f"powershell -enc {_enc(broken)}")
    assert bad.how == "none" and bad.decoded == "" and "not valid base64" in bad.note


def test_decompression_is_bounded_and_says_so() -> None:
    bomb = base64.b64encode(gzip.compress(b"A" * (MAX_DECODED + 10))).decode()
    script = f'[Convert]::FromBase64String("{bomb}")'
    _, layer = decode_payloads("image_path", f"powershell -enc {_enc(script)}")
    assert len(layer.decoded) == MAX_DECODED and "cut at" in layer.note


def test_binary_layer_is_shown_as_hex() -> None:
    blob = base64.b64encode(bytes(range(0x80, 0x90))).decode()
    script = "FromBase64String('" + blob + "')"
    _, layer = decode_payloads("image_path", f"powershell -enc {_enc(script)}")
    assert layer.how == "hex" and layer.decoded == bytes(range(0x80, 0x90)).hex()
