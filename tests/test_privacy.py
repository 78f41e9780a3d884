"""What staff see of a resident: masked numbers in free text, times to the hour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from survey_app.privacy import MASK, mask_text, to_hour


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请回电 13812345678 谢谢", f"请回电 {MASK} 谢谢"),
        ("手机138 1234 5678", f"手机{MASK}"),
        ("手机138-1234-5678。", f"手机{MASK}。"),
        ("+86 13912345678", MASK),
        ("１３８１２３４５６７８", MASK),  # full-width digits from a Chinese input method
        ("座机0571-87654321", f"座机{MASK}"),
        ("身份证33010219900101123X", f"身份证{MASK}"),
        ("身份证 330102 19900101 1234", f"身份证 {MASK}"),
        ("电话13812345678和13987654321", f"电话{MASK}和{MASK}"),
    ],
)
def test_numbers_that_identify_a_resident_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    ["楼道灯坏了3个月", "3号楼2单元", "2024年12月", "共有12345户", "Ｘ先生说很好", "费用 120 元"],
)
def test_text_without_such_numbers_is_kept_exactly(text: str) -> None:
    assert mask_text(text) == text


def test_times_are_truncated_to_the_hour() -> None:
    moment = datetime(2026, 11, 24, 9, 59, 59, 999, tzinfo=UTC)
    assert to_hour(moment) == datetime(2026, 11, 24, 9, tzinfo=UTC)
    assert to_hour(None) is None
