"""page_text on Tesseract TSV layouts written by hand (the rendered pages test it end to end)."""

from __future__ import annotations

from langproc.providers.page_layout import page_text

HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def tsv(*lines: tuple[int, int, int, int, str]) -> str:
    """Rows for lines given as (block, paragraph, left, top, text), 40 px high, 800 px wide."""
    rows = [HEADER]
    for number, (block, paragraph, left, top, text) in enumerate(lines, start=1):
        width = 800 if len(text) > 20 else 20 * len(text)
        rows.append(f"4\t1\t{block}\t{paragraph}\t{number}\t0\t{left}\t{top}\t{width}\t40\t-1\t")
        for index, word in enumerate(text.split(), start=1):
            rows.append(
                f"5\t1\t{block}\t{paragraph}\t{number}\t{index}\t{left}\t{top}\t50\t40\t90\t{word}"
            )
    return "\n".join(rows)


BODY = [
    (1, 1, 100, 200, "Le dimanche, nous allons ensemble au marché près de"),
    (1, 1, 100, 260, "la rivière. Les marchands crient leurs prix, les"),
    (2, 1, 100, 320, "fromages sentent fort et les pommes brillent sous le"),
    (2, 1, 100, 380, "soleil d'automne."),
    (3, 1, 140, 440, "Ma voisine choisit lentement ses légumes et repart"),
    (3, 1, 100, 500, "toujours avec un bouquet de fleurs."),
]


def test_blocks_split_mid_sentence_are_joined_and_a_sentence_end_keeps_the_break() -> None:
    text = page_text(tsv(*BODY), "fr")
    assert text.count("\n\n") == 1
    assert "près de\nla rivière" in text
    assert "les\nfromages" in text
    assert text.split("\n\n")[1].startswith("Ma voisine")


def test_lower_case_after_a_full_stop_goes_on_the_same_paragraph() -> None:
    lines = [
        (1, 1, 100, 200, "Il achète du pain, des fruits, etc."),
        (2, 1, 100, 260, "et rentre."),
    ]
    assert "\n\n" not in page_text(tsv(*lines), "fr")


def test_header_and_page_number_at_the_edges_are_dropped_and_a_title_kept() -> None:
    title = [(0, 1, 300, 60, "CHAPITRE")]
    lines = [(9, 1, 500, 40, "LE VOYAGE"), *BODY, (8, 1, 550, 640, "12")]
    text = page_text(tsv(*lines), "fr")
    assert "VOYAGE" not in text
    assert "12" not in text
    assert text.startswith("Le dimanche")
    # A line that is only words in capitals but larger than the body stays: it may be a title.
    big = tsv(*title, *BODY).replace("\t300\t60\t160\t40\t", "\t300\t60\t160\t90\t")
    assert page_text(big, "fr").startswith("CHAPITRE\n\nLe dimanche")


def test_a_greek_question_mark_ends_a_sentence() -> None:
    lines = [(1, 1, 100, 200, "Πού πας;"), (2, 1, 100, 260, "Στο σπίτι.")]
    assert page_text(tsv(*lines), "el") == "Πού πας;\n\nΣτο σπίτι."
    assert page_text(tsv(*lines), "fr") == "Πού πας;\nΣτο σπίτι."
