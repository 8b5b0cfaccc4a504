"""The normaliser that makes "9.00", "9:00" and "alle 9" the same answer (evals/normalize.py)."""

from __future__ import annotations

import pytest

from evals.normalize import contains, normalize


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        # accents, case, whitespace, typographic punctuation
        ("Perché è  Chiuso", "perche e chiuso"),
        ("L’orario", "l'orario"),
        ("  CAFFÈ\u00a0 macchiato ", "caffe macchiato"),
        # times
        ("09:00", "9.00"),
        ("9:00", "9.00"),
        ("9.00", "9.00"),
        ("alle 9", "alle 9.00"),
        ("dalle 9 alle 13", "dalle 9.00 alle 13.00"),
        ("open until 18", "open until 18.00"),
        ("9am", "9.00"),
        ("9:30 PM", "21.30"),
        ("9:00 – 13:00", "9.00-13.00"),
        # decimal commas, thousands and euros
        ("6,90", "6.90"),
        ("€ 6,90", "6.90 €"),
        ("6,90€", "6.90 €"),
        ("6.90 euro", "6.90 €"),
        ("EUR 6.90", "6.90 €"),
        ("39,00 €", "39 €"),
        ("1.250,00 €", "1250 €"),
        ("1,250.00 €", "1250 €"),
        # numbers that are not times stay as they are
        ("sconto del 10%", "sconto del 10%"),
        ("25.11.2026", "25.11.2026"),
        ("2-3 giorni", "2-3 giorni"),
    ],
)
def test_normalize_maps_each_spelling_to_one_canonical_form(written: str, canonical: str) -> None:
    assert normalize(written) == canonical


@pytest.mark.parametrize("text", ["Apriamo alle 9:00, costa € 6,90", "perché È così", "dalle 9 alle 13"])
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


@pytest.mark.parametrize(
    ("reply", "phrase", "found"),
    [
        ("Apriamo alle 9:00.", "9.00", True),
        ("Apriamo alle 9:00.", "9", True),  # a whole number matches its ":00" form
        ("Apriamo alle 09.00.", "9:00", True),
        ("We open at 9am.", "9:00", True),
        ("Chiudiamo alle 19:00.", "9:00", False),  # 9.00 is not inside 19.00
        ("Apriamo alle 9:30.", "9", False),
        ("La spedizione costa 6,90 €.", "6.90", True),
        ("La spedizione costa €6.90.", "6,90 €", True),
        ("Costa 39,00 euro.", "39", True),
        ("Costa 350 €.", "35", False),
        ("Sconto del 10%.", "10:00", False),  # a percentage is not a time
        ("Il negozio è CHIUSO la domenica.", "chiuso", True),
        ("Il negozio è chiuso.", "chius", True),  # a phrase ending with a letter may be a word prefix
        ("The area is enclosed.", "closed", False),  # ...but must start a word
        ("Perché non è disponibile", "perche", True),
    ],
)
def test_contains_matches_normalised_phrases_at_word_boundaries(reply: str, phrase: str, found: bool) -> None:
    assert contains(reply, phrase) is found
