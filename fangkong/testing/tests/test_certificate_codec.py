"""The certificate format and its offline verification (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.testing.certificates.codec import (
    Claims,
    Outcome,
    ResultCode,
    b64url,
    encode_claims,
    kid_for,
    sign_certificate,
    verify_certificate,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
KEYS = {kid_for(KEY.public_key()): KEY.public_key()}
SAMPLED = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def claims(result: ResultCode = ResultCode.NEGATIVE, **changes: object) -> Claims:
    values: dict[str, object] = {
        "name": "李*乡",
        "document": "410302********123X",
        "sampled_at": SAMPLED,
        "result": result,
        "lab": "示范市疾控中心实验室",
        "issuer": "示范市防控指挥部",
        "issued_at": SAMPLED + timedelta(hours=9),
        "serial": "ABCDEFGH23",
    }
    values.update(changes)
    return Claims(**values)  # type: ignore[arg-type]


def verify(text: str, *, at: datetime, hours: int = 48, keys: dict | None = None):  # type: ignore[no-untyped-def]
    return verify_certificate(text, keys=KEYS if keys is None else keys, now=at, valid_hours=hours)


def test_a_signed_negative_certificate_verifies_within_the_window():
    text = sign_certificate(claims(), key=KEY)
    result = verify(text, at=SAMPLED + timedelta(hours=47, minutes=59))
    assert result.outcome is Outcome.VALID and result.is_pass
    assert result.claims == claims()
    assert result.kid == kid_for(KEY.public_key())
    assert result.valid_until == SAMPLED + timedelta(hours=48)


def test_the_format_is_versioned_compact_and_holds_no_full_identity():
    text = sign_certificate(claims(), key=KEY)
    version, kid, body, signature = text.split(".")
    assert version == "FK1" and len(kid) == 12 and len(signature) == 86
    assert len(text) < 400
    assert "410302" not in text  # the masked identity is inside the base64, never readable as digits
    assert b'"id":"410302********123X"' in encode_claims(claims())


def test_exactly_48_hours_is_valid_and_48h_plus_one_minute_expired():
    text = sign_certificate(claims(), key=KEY)
    assert verify(text, at=SAMPLED + timedelta(hours=48)).outcome is Outcome.VALID
    late = verify(text, at=SAMPLED + timedelta(hours=48, minutes=1))
    assert late.outcome is Outcome.EXPIRED and not late.is_pass
    assert late.claims is not None  # shown, so the checkpoint can tell the person what is wrong


def test_the_hours_come_from_the_caller():
    text = sign_certificate(claims(), key=KEY)
    at = SAMPLED + timedelta(hours=30)
    assert verify(text, at=at, hours=24).outcome is Outcome.EXPIRED
    assert verify(text, at=at, hours=72).outcome is Outcome.VALID


@pytest.mark.parametrize("result", [ResultCode.POSITIVE, ResultCode.POOL_POSITIVE, ResultCode.INVALID])
@pytest.mark.parametrize("hours_after", [0, 1, 47, 49, 500])
def test_a_certificate_that_is_not_negative_is_never_a_pass(result, hours_after):
    text = sign_certificate(claims(result), key=KEY)
    verdict = verify(text, at=SAMPLED + timedelta(hours=hours_after))
    assert verdict.outcome is Outcome.NOT_NEGATIVE and not verdict.is_pass
    assert verdict.claims is not None and verdict.claims.result is result


def test_a_sampling_time_in_the_future_is_refused():
    text = sign_certificate(claims(sampled_at=SAMPLED + timedelta(hours=2)), key=KEY)
    assert verify(text, at=SAMPLED).outcome is Outcome.NOT_YET_VALID
    assert verify(text, at=SAMPLED + timedelta(hours=1, minutes=56)).outcome is Outcome.VALID  # 5 min of skew


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


def test_a_byte_changed_in_the_claims_is_a_bad_signature():
    text = sign_certificate(claims(), key=KEY)
    start = len("FK1.") + 12 + 1
    for index in (start, start + 40, text.rindex(".") - 1):
        verdict = verify(_flip(text, index), at=SAMPLED + timedelta(hours=1))
        assert verdict.outcome is Outcome.BAD_SIGNATURE and verdict.claims is None


def test_claims_edited_to_negative_and_re_encoded_are_a_bad_signature():
    text = sign_certificate(claims(ResultCode.POSITIVE), key=KEY)
    version, kid, _body, signature = text.split(".")
    forged = ".".join([version, kid, b64url(encode_claims(claims(ResultCode.NEGATIVE))), signature])
    assert verify(forged, at=SAMPLED + timedelta(hours=1)).outcome is Outcome.BAD_SIGNATURE


def test_a_byte_changed_in_the_signature_is_refused():
    text = sign_certificate(claims(), key=KEY)
    first = text.rindex(".") + 1
    for index in (first, first + 30, len(text) - 2):
        assert verify(_flip(text, index), at=SAMPLED + timedelta(hours=1)).outcome is Outcome.BAD_SIGNATURE
    # The last character carries 2 signature bits and 4 padding bits: a change of padding only is refused too.
    last = text[-1]
    sibling = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    padded = sibling[(sibling.index(last) & ~0b1111) | ((sibling.index(last) + 1) & 0b1111)]
    verdict = verify(text[:-1] + padded, at=SAMPLED + timedelta(hours=1))
    assert verdict.outcome in {Outcome.MALFORMED, Outcome.BAD_SIGNATURE} and not verdict.is_pass


def test_a_certificate_signed_by_another_key_is_refused():
    foreign = sign_certificate(claims(), key=OTHER_KEY)
    assert verify(foreign, at=SAMPLED).outcome is Outcome.UNKNOWN_KEY
    # The same, claiming our key id: the signature does not match our key.
    _version, _kid, body, signature = foreign.split(".")
    impostor = ".".join(["FK1", kid_for(KEY.public_key()), body, signature])
    assert verify(impostor, at=SAMPLED).outcome is Outcome.BAD_SIGNATURE


def test_a_rotated_key_set_verifies_both_keys():
    both = {**KEYS, kid_for(OTHER_KEY.public_key()): OTHER_KEY.public_key()}
    for key in (KEY, OTHER_KEY):
        assert verify(sign_certificate(claims(), key=key), at=SAMPLED, keys=both).is_pass


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("", Outcome.MALFORMED),
        ("hello", Outcome.MALFORMED),
        ("FK1.abc.def", Outcome.MALFORMED),
        ("FK1.a!b.c.d", Outcome.MALFORMED),
        ("FK1.ab.c.d", Outcome.UNKNOWN_KEY),
        ("FK1.<script>.x.y", Outcome.MALFORMED),
        ("FK9.abcdefghijkl.e30.AAAA", Outcome.UNSUPPORTED_VERSION),
        ("https://example.com/?c=FK1.a.b.c", Outcome.MALFORMED),
        ("FK1." + "A" * 3000, Outcome.MALFORMED),
    ],
)
def test_malformed_text_is_refused_with_its_reason(text, outcome):
    assert verify(text, at=SAMPLED).outcome is outcome


def test_a_short_signature_is_malformed():
    text = sign_certificate(claims(), key=KEY)
    head = text[: text.rindex(".")]
    assert verify(head + "." + b64url(b"\0" * 10), at=SAMPLED).outcome is Outcome.MALFORMED


def test_signed_text_that_is_not_fk1_claims_is_malformed_not_trusted():
    kid = kid_for(KEY.public_key())
    for body in (
        b"[]",
        b'{"r":"neg"}',
        b"\xff\xfe",
        b'{"n":"a","id":"b","st":"x","r":"neg","lab":"","iss":"","iat":1,"sn":""}',
    ):
        signed = f"FK1.{kid}.{b64url(body)}"
        text = f"{signed}.{b64url(KEY.sign(signed.encode()))}"
        verdict = verify(text, at=SAMPLED)
        assert verdict.outcome is Outcome.MALFORMED and verdict.claims is None


def test_whitespace_from_scanning_or_pasting_is_ignored():
    text = sign_certificate(claims(), key=KEY)
    broken = "  " + text[:50] + "\n" + text[50:200] + "\r\n " + text[200:] + "\n"
    assert verify(broken, at=SAMPLED).is_pass


@settings(max_examples=200, deadline=None)
@given(index=st.integers(min_value=0), character=st.characters(codec="ascii"))
def test_any_single_character_change_never_passes(index, character):
    text = sign_certificate(claims(), key=KEY)
    index %= len(text)
    changed = text[:index] + character + text[index + 1 :]
    if changed.strip() == text or (
        character.isspace() and changed.replace(character, "") == text.replace(character, "")
    ):
        return  # whitespace is ignored by design; the same text is the same certificate
    assert not verify(changed, at=SAMPLED + timedelta(hours=1)).is_pass


@settings(max_examples=50, deadline=None)
@given(
    name=st.text(max_size=20),
    result=st.sampled_from(list(ResultCode)),
    offset=st.integers(min_value=0, max_value=10**6),
)
def test_round_trip_and_only_negatives_pass(name, result, offset):
    sampled = SAMPLED + timedelta(seconds=offset)
    text = sign_certificate(claims(result, name=name, sampled_at=sampled), key=KEY)
    verdict = verify(text, at=sampled + timedelta(hours=1))
    assert verdict.claims is not None and verdict.claims.name == name
    assert verdict.is_pass == (result is ResultCode.NEGATIVE)
