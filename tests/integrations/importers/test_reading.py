import codecs
import datetime as dt
import io

import pytest

from tests.integrations.importers.conftest import csv_bytes, xlsx_bytes
from tokui.integrations.importers.reading import (
    FileProblemError,
    header_hash,
    inspect_file,
    open_table,
)

HEADER = "得意先コード,会社名,電話番号"


def _rows(content: bytes, name: str = "data.csv") -> tuple[list[str], list[tuple[int, tuple[object, ...]]], str]:
    stream = io.BytesIO(content)
    layout = inspect_file(stream, name=name)
    with open_table(
        stream, file_format=layout.file_format, encoding=layout.encoding, delimiter=layout.delimiter
    ) as table:
        return table.header, [(row.number, row.cells) for row in table.rows()], layout.encoding


def test_utf8_csv_is_read_as_utf8() -> None:
    header, rows, encoding = _rows(csv_bytes(HEADER, "C001,株式会社さくら,03-1234-5678"))
    assert encoding == "utf-8"
    assert header == ["得意先コード", "会社名", "電話番号"]
    assert rows == [(2, ("C001", "株式会社さくら", "03-1234-5678"))]


def test_utf8_with_bom_is_detected_and_the_bom_is_not_part_of_the_first_column_name() -> None:
    header, rows, encoding = _rows(codecs.BOM_UTF8 + csv_bytes(HEADER, "C001,株式会社さくら,03-1234-5678"))
    assert encoding == "utf-8-sig"
    assert header[0] == "得意先コード"
    assert rows[0][1][1] == "株式会社さくら"


def test_cp932_file_with_extended_kanji_is_read_as_shift_jis() -> None:
    # 髙 (IBM extension), 﨑 (NEC-selected IBM extension), ① and ㈱ exist in CP932 but not in plain Shift_JIS.
    content = csv_bytes(HEADER, "C001,㈱髙橋商店,03-1111-2222", "C002,山﨑洋品店①,06-3333-4444", encoding="cp932")
    header, rows, encoding = _rows(content)
    assert encoding == "cp932"
    assert header == ["得意先コード", "会社名", "電話番号"]
    assert [cells[1] for _number, cells in rows] == ["㈱髙橋商店", "山﨑洋品店①"]


def test_unicode_text_from_excel_is_read_as_tab_separated_utf16() -> None:
    content = "得意先コード\t会社名\r\nC001\t髙橋商店\r\n".encode("utf-16")
    header, rows, encoding = _rows(content, name="export.txt")
    assert encoding == "utf-16"
    assert header == ["得意先コード", "会社名"]
    assert rows == [(2, ("C001", "髙橋商店"))]


def test_invalid_bytes_are_refused_with_a_japanese_message_naming_the_line() -> None:
    good = csv_bytes(HEADER, "C001,株式会社さくら,03-1234-5678", "C002,山田洋品店,06-1111-2222")
    broken = good + b"C003," + b"\xff\xfe\x80" + "商店,03\r\n".encode()
    with pytest.raises(FileProblemError) as raised:
        inspect_file(io.BytesIO(broken), name="broken.csv")
    assert "4 行目" in raised.value.message
    assert "何も取り込んでいません" in raised.value.message


def test_blank_lines_are_skipped_and_rows_keep_their_numbers_in_the_file() -> None:
    _header, rows, _encoding = _rows(csv_bytes(HEADER, "C001,A,1", "", ",,", "C002,B,2"))
    assert [number for number, _cells in rows] == [2, 5]


def test_old_excel_files_are_refused_with_advice() -> None:
    with pytest.raises(FileProblemError) as raised:
        inspect_file(io.BytesIO(b"\xd0\xcf\x11\xe0"), name="顧客.xls")
    assert ".xlsx" in raised.value.message


def test_a_file_that_is_not_really_excel_is_refused() -> None:
    with pytest.raises(FileProblemError):
        inspect_file(io.BytesIO(b"not a zip file"), name="顧客.xlsx")


def test_xlsx_rows_stream_with_their_typed_cells_and_excel_row_numbers() -> None:
    content = xlsx_bytes(
        [
            ["受注番号", "受注日", "数量", None],
            ["1001", dt.datetime(2026, 11, 25, 10, 30), 3],
            [None, None, None],
            [1002, dt.datetime(2026, 11, 26), 2.0],
        ]
    )
    header, rows, encoding = _rows(content, name="受注.xlsx")
    assert encoding == ""
    assert header == ["受注番号", "受注日", "数量"]
    assert rows[0] == (2, ("1001", dt.datetime(2026, 11, 25, 10, 30), 3, None))
    assert rows[1][0] == 4
    assert rows[1][1][:3] == (1002, dt.datetime(2026, 11, 26), 2)


def test_the_layout_hash_ignores_width_case_spaces_and_the_error_file_columns() -> None:
    original = ["得意先コード", "会社名", "TEL"]
    assert header_hash(original) == header_hash(["得意先コード ", "会社名", "ｔｅｌ", ""])
    assert header_hash(original) == header_hash([*original, "元の行番号", "エラー内容"])
    assert header_hash(original) != header_hash(["得意先コード", "会社名", "FAX"])
