"""Issue 12, item 7: masking against a table of the ways Chinese phone and ID numbers are written.

Every row is a number as a resident might type it into a comment; each must come out as ＊＊＊ with
the words around it kept. IDs carry valid GB 11643 check characters, as real ones do.
"""

from __future__ import annotations

import pytest

from survey_app.privacy import MASK, mask_text

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(first17: str) -> str:
    """An 18-character ID with its GB 11643-1999 check character."""
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


ID_18 = resident_id("33112219851203041")  # Lishui, 1985-12-03
ID_18_X = next(resident_id(f"3301021990010112{n}") for n in range(10) if resident_id(f"3301021990010112{n}")[-1] == "X")
ID_15 = "331122851203041"  # the old 15-digit card: no century, no check character
FULL_WIDTH = str.maketrans("0123456789X-", "０１２３４５６７８９Ｘ－")

MOBILES = [
    "13812345678",
    "138 1234 5678",
    "138-1234-5678",
    "138.1234.5678",
    "138 - 1234 - 5678",
    "+86 138 1234 5678",
    "+86-13812345678",
    "0086 13812345678",
    "(+86) 138-1234-5678",
    "１３８１２３４５６７８",
    "１３８－１２３４－５６７８",
    "138　1234　5678",  # ideographic spaces
    "138—1234—5678",  # em dashes from a Chinese keyboard
    "一三八一二三四五六七八",
    "幺三八幺二三四五六七八",  # 幺 for 1, as numbers are read aloud
    "19912345678",
]
LANDLINES = [
    "0578-2123456",
    "05782123456",
    "0578 2123456",
    "0578.2123456",
    "(0578)2123456",
    "（0578）2123456",
    "（0578） 212 3456",
    "010-87654321",
    "010 8765 4321",
    "021-6123-4567",
    "０５７８－２１２３４５６",
    "〇五七八二一二三四五六",
    "+86 578 2123456",
]
IDS = [
    ID_18,
    ID_18_X,
    ID_18_X.lower(),
    f"{ID_18[:6]} {ID_18[6:14]} {ID_18[14:]}",
    f"{ID_18[:6]}-{ID_18[6:14]}-{ID_18[14:]}",
    f"{ID_18[:6]}.{ID_18[6:14]}.{ID_18[14:]}",
    ID_18.translate(FULL_WIDTH),
    ID_15,
    f"{ID_15[:6]} {ID_15[6:12]} {ID_15[12:]}",
    ID_15.translate(FULL_WIDTH),
]


@pytest.mark.parametrize("number", MOBILES + LANDLINES + IDS)
@pytest.mark.parametrize("around", ["{}", "请回电{}谢谢", "电话：{}。", "我的号码是 {} ，王先生"])
def test_every_written_form_is_masked(number: str, around: str) -> None:
    assert mask_text(around.format(number)) == around.format(MASK)


def test_two_numbers_side_by_side_are_both_masked() -> None:
    assert mask_text(f"手机13812345678，身份证{ID_18}") == f"手机{MASK}，身份证{MASK}"
    assert mask_text(f"{ID_18}和0578-2123456") == f"{MASK}和{MASK}"


@pytest.mark.parametrize(
    "text",
    [
        "楼道灯坏了3个月",
        "3号楼2单元501室",
        "2024年12月3日",
        "共有12345户",
        "排队一二三个小时",
        "一楼到三楼的灯都不亮",
        "第一二三四五六七条都没做到",
        "费用 120 元，等了 45 分钟",
        "订单号 2024-1203",
        "邮编 323000",
        "价格 12.5 元",
        "Ｘ先生说很好",
    ],
)
def test_text_without_such_numbers_is_kept_exactly(text: str) -> None:
    assert mask_text(text) == text
