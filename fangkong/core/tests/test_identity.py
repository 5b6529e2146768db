from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.identity import (
    CHECK_CHARACTERS,
    PROVINCES,
    WEIGHTS,
    DocumentKind,
    IdentityError,
    IdentityErrorCode,
    ResidentId,
    check_character,
    convert_legacy_15,
    make_resident_id,
    validate_document,
    validate_resident_id,
)

TODAY = date(2021, 8, 3)

provinces = st.sampled_from(sorted(PROVINCES))
regions = st.builds(lambda p, rest: p + rest, provinces, st.from_regex(r"[0-9]{4}", fullmatch=True))
births = st.dates(min_value=date(1880, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_resident_id, regions, births, sequences)


def code_of(value: object) -> IdentityErrorCode:
    with pytest.raises(IdentityError) as caught:
        validate_resident_id(value, today=TODAY)
    return caught.value.code


# --- the standard's examples and the check character ---------------------------------------------------


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [("11010519491231002X", date(1949, 12, 31), "F"), ("440524188001010014", date(1880, 1, 1), "M")],
)
def test_the_standards_own_examples_pass(number: str, born: date, sex: str) -> None:
    resident = validate_resident_id(number, today=TODAY)
    assert resident == ResidentId(number=number, region_code=number[:6], birth_date=born, sex=sex)


def test_check_character_by_hand() -> None:
    # 1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5 + 0*8 + 0*4 + 2*2 = 167;
    # 167 mod 11 = 2 → "10X98765432"[2] = "X"
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


@pytest.mark.parametrize("bad", ["1101051949123100", "110105194912310021", "1101051949123100A", ""])
def test_check_character_needs_17_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="17 digits"):
        check_character(bad)


def iso7064_mod_11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 written the standard's other way: weights 2^(i-1) mod 11 from the right, check value
    (12 - sum mod 11) mod 11, 10 written X — independent of the module's weight table and lookup string."""
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_check_character_agrees_with_the_iso_7064_definition(first17: str) -> None:
    assert check_character(first17) == iso7064_mod_11_2(first17)


@given(valid_ids)
def test_generated_ids_always_validate(number: str) -> None:
    resident = validate_resident_id(number, today=TODAY)
    assert resident.number == number
    assert resident.region_code == number[:6]
    assert resident.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert resident.sex == ("M" if int(number[16]) % 2 else "F")
    assert not resident.legacy_converted


@given(regions, births, sequences)
def test_make_resident_id_encodes_its_inputs(region: str, born: date, sequence: int) -> None:
    number = make_resident_id(region, born, sequence)
    assert number[:6] == region
    assert number[6:14] == born.strftime("%Y%m%d")
    assert number[14:17] == f"{sequence:03d}"
    assert number[17] in CHECK_CHARACTERS


@given(valid_ids, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_every_single_substitution_is_detected(number: str, position: int, replacement: str) -> None:
    """ISO 7064 MOD 11-2 detects every single substitution: each weight 2^(17-i) mod 11 is non-zero and 11 is
    prime, so changing one digit by d changes the weighted sum by w*d, never a multiple of 11; and changing the
    check character itself changes the right-hand side. The property below tests it, not just trusts it."""
    if replacement == number[position] or (replacement == "X" and position != 17):
        return
    corrupted = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdentityError):
        validate_resident_id(corrupted, today=TODAY)


def test_single_substitution_is_detected_exhaustively_for_one_number() -> None:
    """Every position, every other character, for the standard's example: not one slips through the checksum."""
    number = "11010519491231002X"
    slipped_through = [
        corrupted
        for position in range(18)
        for replacement in ("0123456789X" if position == 17 else "0123456789")
        if replacement != number[position]
        for corrupted in [number[:position] + replacement + number[position + 1 :]]
        if check_character(corrupted[:17]) == corrupted[17]
    ]
    assert slipped_through == []


def test_the_proof_behind_the_property() -> None:
    """A substitution of digit a by b at position i shifts the sum by w_i * (b - a). With 11 prime and every
    weight in 1..10, that shift is never 0 mod 11, so the check character always changes; and the check
    character maps residues one-to-one, so changing it alone never matches either."""
    for position in range(17):
        for delta in range(-9, 10):
            if delta:
                assert (WEIGHTS[position] * delta) % 11 != 0
    assert sorted(CHECK_CHARACTERS) == sorted(set(CHECK_CHARACTERS)) and len(CHECK_CHARACTERS) == 11


# --- normalisation -----------------------------------------------------------------------------------


def test_lowercase_x_full_width_and_spaces_are_normalised() -> None:
    assert validate_resident_id("11010519491231002x", today=TODAY).number == "11010519491231002X"
    assert validate_resident_id("１１０１０５１９４９１２３１００２ｘ", today=TODAY).number == "11010519491231002X"
    assert validate_resident_id(" 110105 19491231 002X\u200b", today=TODAY).number == "11010519491231002X"


# --- each error code ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_empty(value: object) -> None:
    assert code_of(value) is IdentityErrorCode.EMPTY


@pytest.mark.parametrize(
    "value",
    [
        "1101051949123100",  # 16
        "1101051949123100211",  # 19
        "11010519491231002Y",
        "X10105194912310021",
        "110105-19491231-002X",
        "11010519491231A02X",
        "11010519491231002XX",
    ],
)
def test_wrong_length_or_characters(value: str) -> None:
    assert code_of(value) is IdentityErrorCode.FORMAT


def test_wrong_check_character() -> None:
    assert code_of("110105194912310021") is IdentityErrorCode.CHECK_CHARACTER
    assert code_of("440524188001010013") is IdentityErrorCode.CHECK_CHARACTER


@pytest.mark.parametrize(
    ("region", "born"),
    [
        ("110105", date(2021, 8, 4)),  # tomorrow
        ("110105", date(1879, 12, 31)),  # before 1880
    ],
)
def test_future_or_too_old_birth_date(region: str, born: date) -> None:
    assert code_of(make_resident_id(region, born, 123)) is IdentityErrorCode.BIRTH_DATE


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "20210229", "19491232"])
def test_impossible_birth_date(birth: str) -> None:
    first17 = "110105" + birth + "002"
    assert code_of(first17 + check_character(first17)) is IdentityErrorCode.BIRTH_DATE


def test_birth_on_today_passes_and_today_defaults_to_the_real_date() -> None:
    assert validate_resident_id(make_resident_id("110105", TODAY, 1), today=TODAY).birth_date == TODAY
    tomorrow_in_3000 = make_resident_id("110105", date(3000, 1, 1), 1)
    with pytest.raises(IdentityError) as caught:
        validate_resident_id(tomorrow_in_3000)
    assert caught.value.code is IdentityErrorCode.BIRTH_DATE


@pytest.mark.parametrize(
    "province", ["00", "10", "16", "20", "39", "47", "55", "60", "66", "70", "72", "83", "90", "99"]
)
def test_unknown_province(province: str) -> None:
    assert code_of(make_resident_id(province + "0105", date(1990, 1, 1), 123)) is IdentityErrorCode.REGION


def test_taiwan_hong_kong_and_macao_province_codes_are_chinese_provinces() -> None:
    for region in ("710000", "810000", "820000"):
        assert validate_resident_id(make_resident_id(region, date(1990, 1, 1), 1), today=TODAY).region_code == region


# --- spreadsheets ------------------------------------------------------------------------------------


def test_18_digits_ending_000_from_a_spreadsheet_is_precision_loss() -> None:
    valid = make_resident_id("410302", date(1990, 1, 1), 123)
    assert code_of(valid[:15] + "000") is IdentityErrorCode.SPREADSHEET_PRECISION


def test_a_real_number_ending_000_is_accepted() -> None:
    # sequence 100 with check character 0 exists; the check character proves it was not truncated.
    for year in range(1950, 2000):
        number = make_resident_id("410302", date(year, 1, 1), 100)
        if number.endswith("000"):
            assert validate_resident_id(number, today=TODAY).number == number
            return
    pytest.fail("no example found")  # pragma: no cover


@pytest.mark.parametrize(
    "value",
    ["4.10302E+17", "4.10302199001011E+17", "4.10302e17", "４.１０３０２Ｅ＋１７", "410302199001011234.0"],
)
def test_scientific_notation_and_fractions_are_precision_loss(value: str) -> None:
    assert code_of(value) is IdentityErrorCode.SPREADSHEET_PRECISION


@pytest.mark.parametrize("value", [410302199001011234, 4.10302199001011e17, 410302199001011000])
def test_numbers_too_long_for_a_spreadsheet_are_precision_loss(value: object) -> None:
    assert code_of(value) is IdentityErrorCode.SPREADSHEET_PRECISION


def test_precision_loss_is_never_repaired() -> None:
    with pytest.raises(IdentityError) as caught:
        validate_resident_id("4.10302E+17", today=TODAY)
    assert "spreadsheet" in caught.value.message
    assert caught.value.value == "4.10302E+17"


def test_a_15_digit_number_survives_a_number_cell() -> None:
    assert validate_resident_id(410302900101123, today=TODAY).number == convert_legacy_15("410302900101123")
    assert validate_resident_id(410302900101123.0, today=TODAY).legacy_converted
    assert validate_resident_id("410302900101123.0", today=TODAY).legacy_converted


# --- 15-digit legacy numbers -------------------------------------------------------------------------


def test_convert_legacy_15_inserts_19_and_adds_the_check_character() -> None:
    assert convert_legacy_15("110105491231002") == "11010519491231002X"


@given(regions, st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), sequences)
def test_legacy_conversion_round_trips(region: str, born: date, sequence: int) -> None:
    full = make_resident_id(region, born, sequence)
    legacy = full[:6] + full[8:17]  # what the 15-digit card showed
    assert convert_legacy_15(legacy) == full
    resident = validate_resident_id(legacy, today=TODAY)
    assert resident.number == full
    assert resident.legacy_converted
    assert resident.birth_date == born


@pytest.mark.parametrize("bad", ["11010549123100", "1101054912310021", "11010549123100X"])
def test_convert_legacy_15_refuses_other_shapes(bad: str) -> None:
    with pytest.raises(IdentityError) as caught:
        convert_legacy_15(bad)
    assert caught.value.code is IdentityErrorCode.FORMAT


def test_make_resident_id_refuses_bad_inputs() -> None:
    with pytest.raises(ValueError, match="6 digits"):
        make_resident_id("41030", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="sequence"):
        make_resident_id("410302", date(1990, 1, 1), 1000)


# --- error messages ----------------------------------------------------------------------------------


def test_every_code_has_a_stable_plain_message() -> None:
    messages = {}
    for code in IdentityErrorCode:
        error = IdentityError(code, "x")
        assert error.message and "{" not in error.message
        messages[code] = error.message
    assert len(set(messages.values())) == len(messages)
    assert str(IdentityError(IdentityErrorCode.REGION, "990000")).endswith("'990000'")


# --- other documents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "normalised"),
    [
        (DocumentKind.RESIDENT_ID, "11010519491231002x", "11010519491231002X"),
        (DocumentKind.PASSPORT, "e12345678", "E12345678"),
        (DocumentKind.PASSPORT, "G12345678", "G12345678"),
        (DocumentKind.PASSPORT, "EA1234567", "EA1234567"),
        (DocumentKind.PASSPORT, "C03005988", "C03005988"),  # a foreign passport
        (DocumentKind.PASSPORT, "12345", "12345"),
        (DocumentKind.PASSPORT, "AB1234567890CDEFGH12", "AB1234567890CDEFGH12"),  # 20
        (DocumentKind.HK_MACAO_PERMIT, "H12345678", "H12345678"),
        (DocumentKind.HK_MACAO_PERMIT, "m1234567890", "M1234567890"),
        (DocumentKind.TAIWAN_PERMIT, "１２３４５６７８", "12345678"),
        (DocumentKind.FOREIGN_PERMANENT_RESIDENCE, "usa110081001234", "USA110081001234"),
    ],
)
def test_valid_documents(kind: DocumentKind, value: str, normalised: str) -> None:
    assert validate_document(kind, value, today=TODAY) == normalised


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (DocumentKind.PASSPORT, "1234"),
        (DocumentKind.PASSPORT, "AB1234567890CDEFGH123"),  # 21
        (DocumentKind.PASSPORT, "ZHANGSAN"),  # a name, no digit
        (DocumentKind.PASSPORT, "E1234-5678"),
        (DocumentKind.HK_MACAO_PERMIT, "H1234567"),
        (DocumentKind.HK_MACAO_PERMIT, "H123456789"),  # 9 digits
        (DocumentKind.HK_MACAO_PERMIT, "K12345678"),
        (DocumentKind.TAIWAN_PERMIT, "1234567"),
        (DocumentKind.TAIWAN_PERMIT, "T1234567"),
        (DocumentKind.FOREIGN_PERMANENT_RESIDENCE, "US110081001234"),
        (DocumentKind.FOREIGN_PERMANENT_RESIDENCE, "810000199001011234"),  # 2017 format starts with 9
        (DocumentKind.HMT_RESIDENCE_PERMIT, "81000019900101123"),
    ],
)
def test_malformed_documents_are_format_errors_with_their_own_message(kind: DocumentKind, value: str) -> None:
    with pytest.raises(IdentityError) as caught:
        validate_document(kind, value, today=TODAY)
    assert caught.value.code is IdentityErrorCode.FORMAT
    assert caught.value.message != IdentityError(IdentityErrorCode.FORMAT).message or kind is DocumentKind.RESIDENT_ID


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_document_kind_refuses_empty(kind: DocumentKind) -> None:
    with pytest.raises(IdentityError) as caught:
        validate_document(kind, "  ", today=TODAY)
    assert caught.value.code is IdentityErrorCode.EMPTY


@pytest.mark.parametrize("region", ["810000", "820000", "830000"])
def test_hmt_residence_permit(region: str) -> None:
    number = make_resident_id(region, date(1990, 5, 17), 21)
    assert validate_document(DocumentKind.HMT_RESIDENCE_PERMIT, number.lower(), today=TODAY) == number


def test_hmt_residence_permit_errors() -> None:
    def code(value: str) -> IdentityErrorCode:
        with pytest.raises(IdentityError) as caught:
            validate_document(DocumentKind.HMT_RESIDENCE_PERMIT, value, today=TODAY)
        return caught.value.code

    assert code(make_resident_id("810100", date(1990, 5, 17), 21)) is IdentityErrorCode.REGION
    assert code(make_resident_id("410302", date(1990, 5, 17), 21)) is IdentityErrorCode.REGION
    valid = make_resident_id("810000", date(1990, 5, 17), 21)
    assert code(valid[:17] + ("0" if valid[17] != "0" else "1")) is IdentityErrorCode.CHECK_CHARACTER
    assert code(make_resident_id("820000", date(2030, 1, 1), 21)) is IdentityErrorCode.BIRTH_DATE
    assert code(valid[:6] + valid[8:17]) is IdentityErrorCode.FORMAT  # no 15-digit permits
    # A Taiwan permit region is not a resident ID province:
    with pytest.raises(IdentityError) as caught:
        validate_resident_id(make_resident_id("830000", date(1990, 5, 17), 21), today=TODAY)
    assert caught.value.code is IdentityErrorCode.REGION


def foreign_2017(birth: str = "19800101") -> str:
    first17 = "9" + "11" + "840" + birth + "001"
    return first17 + check_character(first17)


def test_foreign_permanent_residence_2017_format() -> None:
    number = foreign_2017()
    assert validate_document(DocumentKind.FOREIGN_PERMANENT_RESIDENCE, number, today=TODAY) == number
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(IdentityError) as caught:
        validate_document(DocumentKind.FOREIGN_PERMANENT_RESIDENCE, wrong_check, today=TODAY)
    assert caught.value.code is IdentityErrorCode.CHECK_CHARACTER
    with pytest.raises(IdentityError) as caught:
        validate_document(DocumentKind.FOREIGN_PERMANENT_RESIDENCE, foreign_2017("19801301"), today=TODAY)
    assert caught.value.code is IdentityErrorCode.BIRTH_DATE


@given(valid_ids, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789"))
def test_hmt_and_foreign_checks_catch_every_substitution_too(number: str, position: int, replacement: str) -> None:
    permit = make_resident_id("810000", date(1990, 5, 17), int(number[14:17]))
    if replacement == permit[position] or position < 6:
        return
    corrupted = permit[:position] + replacement + permit[position + 1 :]
    with pytest.raises(IdentityError):
        validate_document(DocumentKind.HMT_RESIDENCE_PERMIT, corrupted, today=TODAY)


def test_the_pure_rule_modules_import_no_django() -> None:
    """The simulator imports these modules without Django; importing them must not pull Django in."""
    modules = ["identity", "phones", "masking", "text", "divisions_codes", "editions"]
    script = (
        "import sys\n"
        + "".join(f"import fangkong.core.{name}\n" for name in modules)
        + "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        + "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
