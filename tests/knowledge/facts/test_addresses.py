"""Postal addresses in page text: the street line, then the town with its postcode."""

from __future__ import annotations

import pytest

from knowledge.facts import postal_addresses
from knowledge.facts.addresses import street_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Via Emilia 12, 41100 Modena", ("Via Emilia 12", "Modena", "41100")),
        ("Siamo in Corso di Porta Ticinese 60, 20123 Milano (MI).", ("Corso di Porta Ticinese 60", "Milano", "20123")),
        ("| Outlet | Via Po, 45 - 10124 Torino | 011 555 |", ("Via Po 45", "Torino", "10124")),
        ("Via della Spiga 2, Milano\n", ("Via della Spiga 2", "Milano", None)),
        ("Via 4 Novembre 10\n00187 Roma", ("Via 4 Novembre 10", "Roma", "00187")),
        ("221B Baker Street, London NW1 6XE", ("221B Baker Street", "London", "NW1 6XE")),
        ("Unit 4\n\n21 Redhill Street, Ancoats\n\nManchester M4 5BA", ("21 Redhill Street", "Manchester", "M4 5BA")),
    ],
)
def test_an_address_is_a_street_line_then_a_town(text, expected):
    [address] = postal_addresses(text)
    assert (address.street, address.town, address.postcode) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Sede legale: Via Roma 1, Milano",
        "Bici Test S.r.l. – Via Roma 1, 20121 Milano – P.IVA 01234567890",
        "Sede legale\nVia Roma 1, 20121 Milano",
        "Registered office: 1 King Street, London EC2V 8AU",
    ],
)
def test_a_registered_office_is_not_an_address_of_a_place_to_visit(text):
    assert postal_addresses(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Via Po 45, Tel. 011 555 0101",  # without postcode the town must end its clause
        "Spediamo via corriere 24 ore su 24, Milano compresa",
        "Aperta nel 2009 in via Po, da un'idea di due amici",
        "Parcheggio con ingresso da via Venezia 112.",
        "lun–sab 9:30–19:30",
    ],
)
def test_text_that_only_looks_like_an_address_gives_none(text):
    assert postal_addresses(text) == []


def test_two_spellings_of_one_address_have_one_key():
    [a] = postal_addresses("Via Po, 45 - 10124 Torino")
    [b] = postal_addresses("via Po 45, Torino\n")
    assert a.key == b.key == "via po 45|torino"
    assert street_key("Via Po 45, 10124 Torino, TO, IT") == street_key("Via Po, 45") == "via po 45"
