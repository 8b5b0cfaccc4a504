from __future__ import annotations

import pytest

from agent.conversation import Conversation, Turn
from agent.reply import HandoffReason
from agent.signals.exemplars import ExemplarVote
from agent.signals.safety import FAMILIES, SensitiveSignal, _patterns, classify_message, meaning_signal
from agent.turn.decide import SUMMARY_MAX_CHARS, decide_handoff, near_duplicate, summarize_for_operator
from knowledge.errors import ManifestError
from knowledge.sources import load_manifest

R = HandoffReason

POSITIVES: list[tuple[str, str, HandoffReason]] = [
    ("non ce la faccio più, stanotte la faccio finita", "it", R.MEDICAL),
    ("un uomo mi segue da quando siamo saliti sul traghetto", "it", R.SAFETY),
    ("someone has been following me since the port", "en", R.SAFETY),
    ("La batteria della mia e-bike si è gonfiata e scotta", "it", R.SAFETY),
    # The customer asks for a person.
    ("Voglio parlare con un operatore", "it", R.HUMAN_REQUESTED),
    ("vorrei parlare con una persona vera", "it", R.HUMAN_REQUESTED),
    ("posso parlare con un umano?", "it", R.HUMAN_REQUESTED),
    ("mi passi un operatore per favore", "it", R.HUMAN_REQUESTED),
    ("Posso parlare con qualcuno?", "it", R.HUMAN_REQUESTED),
    ("Serve assistenza umana", "it", R.HUMAN_REQUESTED),
    ("operatore", "it", R.HUMAN_REQUESTED),
    ("c'è un operatore?", "it", R.HUMAN_REQUESTED),
    ("non voglio parlare con un bot", "it", R.HUMAN_REQUESTED),
    ("I want to talk to a human", "en", R.HUMAN_REQUESTED),
    ("can I speak to someone please", "en", R.HUMAN_REQUESTED),
    ("Let me talk to a real person", "en", R.HUMAN_REQUESTED),
    ("I need a customer service representative", "en", R.HUMAN_REQUESTED),
    ("connect me to a live agent", "en", R.HUMAN_REQUESTED),
    ("agent", "en", R.HUMAN_REQUESTED),
    # Medical.
    ("Sono incinta, posso usare la e-bike?", "it", R.MEDICAL),
    ("Posso andare in bici con un problema al cuore?", "it", R.MEDICAL),
    ("ho il pacemaker, la bici elettrica interferisce?", "it", R.MEDICAL),
    ("prendo anticoagulanti, è sicuro pedalare?", "it", R.MEDICAL),
    ("il mio medico mi ha consigliato la cyclette", "it", R.MEDICAL),
    ("I'm pregnant, is it safe to ride?", "en", R.MEDICAL),
    ("can I ride with a heart condition?", "en", R.MEDICAL),
    ("I'm on medication for epilepsy", "en", R.MEDICAL),
    ("my doctor says I should cycle after my hip replacement", "en", R.MEDICAL),
    ("sono allergica al nichel, il prodotto lo contiene?", "it", R.MEDICAL),
    ("I had an allergic reaction to the cream", "en", R.MEDICAL),
    # Injury.
    ("Sono caduto dalla bici ieri", "it", R.INJURY),
    ("mio figlio è caduto con la bici nuova", "it", R.INJURY),
    ("mi sono fatto male alla spalla", "it", R.INJURY),
    ("mi fa male il polso da quando ho la bici", "it", R.INJURY),
    ("mi sono rotto il polso", "it", R.INJURY),
    ("il taglio sanguina ancora", "it", R.INJURY),
    ("ho avuto un infortunio in negozio", "it", R.INJURY),
    ("I fell off my bike this morning", "en", R.INJURY),
    ("my son got injured on the demo ride", "en", R.INJURY),
    ("my knee hurts since the fitting", "en", R.INJURY),
    ("I broke my arm", "en", R.INJURY),
    ("mio figlio ha ingoiato un pezzo del gioco", "it", R.INJURY),
    # Legal.
    ("Ho già chiamato il mio avvocato", "it", R.LEGAL),
    ("vi denuncio", "it", R.LEGAL),
    ("vi faccio causa", "it", R.LEGAL),
    ("vi mando una diffida", "it", R.LEGAL),
    ("pretendo un risarcimento", "it", R.LEGAL),
    ("cancellate tutti i miei dati personali", "it", R.LEGAL),
    ("I will contact my lawyer", "en", R.LEGAL),
    ("I'm going to sue you", "en", R.LEGAL),
    ("I'll take legal action", "en", R.LEGAL),
    ("see you at small claims court", "en", R.LEGAL),
    ("please delete my personal data under GDPR", "en", R.LEGAL),
    # Safety.
    ("La batteria fuma!", "it", R.SAFETY),
    ("la batteria si è gonfiata", "it", R.SAFETY),
    ("la batteria si surriscalda e puzza di bruciato", "it", R.SAFETY),
    ("è scoppiato un incendio in garage mentre caricavo", "it", R.SAFETY),
    ("i freni non funzionano", "it", R.SAFETY),
    ("non funzionano più i freni", "it", R.SAFETY),
    ("i freni hanno ceduto in discesa", "it", R.SAFETY),
    ("il mio modello è oggetto di un richiamo di sicurezza?", "it", R.SAFETY),
    ("there is smoke coming out of the battery", "en", R.SAFETY),
    ("the battery caught fire", "en", R.SAFETY),
    ("overheating battery on my e-bike", "en", R.SAFETY),
    ("my brakes failed on a descent", "en", R.SAFETY),
    ("I couldn't stop at the junction", "en", R.SAFETY),
    ("has this model been recalled?", "en", R.SAFETY),
    ("my phone charger melted", "en", R.SAFETY),
    # Complaint with strong negative sentiment.
    ("Vergognoso!", "it", R.COMPLAINT),
    ("servizio pessimo", "it", R.COMPLAINT),
    ("che schifo", "it", R.COMPLAINT),
    ("siete una truffa", "it", R.COMPLAINT),
    ("è inaccettabile", "it", R.COMPLAINT),
    ("è la terza volta che scrivo", "it", R.COMPLAINT),
    ("mai più da voi", "it", R.COMPLAINT),
    ("DOVE È FINITO IL MIO ORDINE? NESSUNO RISPONDE", "it", R.COMPLAINT),
    ("non è ancora arrivato!!!", "it", R.COMPLAINT),
    ("This is disgusting", "en", R.COMPLAINT),
    ("what a scam", "en", R.COMPLAINT),
    ("worst service ever", "en", R.COMPLAINT),
    ("totally unacceptable", "en", R.COMPLAINT),
    ("I am furious", "en", R.COMPLAINT),
    ("ridiculous", "en", R.COMPLAINT),
    ("WHERE IS MY ORDER I PAID TWO WEEKS AGO", "en", R.COMPLAINT),
    ("my order has still not arrived!!!", "en", R.COMPLAINT),
    ("you are useless", "en", R.COMPLAINT),
]

# Ordinary shop questions that mention a trigger word: none of them goes to a person.
NEGATIVES: list[tuple[str, str]] = [
    ("mi segue il tecnico per l'installazione?", "it"),
    ("chi mi segue per la pratica del reso?", "it"),
    ("seguo la vostra pagina, quando esce la nuova collezione?", "it"),
    ("il freno posteriore fa rumore, fate riparazioni?", "it"),
    ("quanto costa il casco", "it"),
    ("posso restituire la bici?", "it"),
    ("non mi piace il colore, posso cambiarlo?", "it"),
    ("mi è caduta la catena, la riparate?", "it"),
    ("la catena è caduta dalla corona", "it"),
    ("avete il cardiofrequenzimetro?", "it"),
    ("a causa del maltempo siete chiusi?", "it"),
    ("qual è la vostra sede legale?", "it"),
    ("quanto dura la garanzia legale?", "it"),
    ("quali sono le sue caratteristiche tecniche?", "it"),
    ("il negozio è nel cuore di Milano?", "it"),
    ("scusate la domanda stupida, che taglia prendo?", "it"),
    ("fate lo spurgo dei freni?", "it"),
    ("avete freni a disco idraulici?", "it"),
    ("il freno non è incluso?", "it"),
    ("si è rotto un dente della corona", "it"),
    ("Grazie mille!!!", "it"),
    ("È ARRIVATA, FANTASTICO!!!", "it"),
    ("QUANDO APRE IL NEGOZIO DI PADOVA?", "it"),
    ("quanto costa una batteria di ricambio?", "it"),
    ("la batteria dura poco, è normale?", "it"),
    ("quale operatore logistico usate per le spedizioni?", "it"),
    ("posso pagare a rate?", "it"),
    ("come si monta il pedale?", "it"),
    ("avete la Scott Spark in taglia M?", "it"),
    ("my brakes squeak, do you service them?", "en"),
    ("do you sell heart rate monitors?", "en"),
    ("is there a fire road near the store?", "en"),
    ("sorry for the stupid question, which size?", "en"),
    ("do you do brake bleeds?", "en"),
    ("the chain came off when I shift, can you fix it?", "en"),
    ("how much is the helmet", "en"),
    ("can I return the bike?", "en"),
    ("I don't recall the order number", "en"),
    ("what is the worst case delivery time?", "en"),
    ("it wouldn't hurt to ask: any discounts?", "en"),
    ("this is my third time buying from you", "en"),
    ("what's the pedal stroke efficiency of this crank?", "en"),
    ("Continental GP 5000 tyres in stock?", "en"),
    ("THANK YOU SO MUCH!!!", "en"),
    ("the app crashed when paying", "en"),
    ("do you have staff who speak English?", "en"),
    ("broken spoke, can you fix it?", "en"),
    ("do you give discounts to medical staff?", "en"),
    ("questo casco è anallergico?", "it"),
]


@pytest.mark.parametrize(("text", "lang", "reason"), POSITIVES)
def test_a_risky_message_is_classified_with_its_reason(text: str, lang: str, reason: HandoffReason) -> None:
    signal = classify_message(text, lang)
    assert signal is not None, text
    assert signal.reason == reason


@pytest.mark.parametrize(("text", "lang"), NEGATIVES)
def test_an_ordinary_shop_question_raises_no_signal(text: str, lang: str) -> None:
    assert classify_message(text, lang) is None


def test_the_negative_table_is_large_enough_to_mean_something() -> None:
    assert len(NEGATIVES) >= 25


def test_matching_ignores_accents_and_case() -> None:
    signal = classify_message("PERCHÉ È GIÀ LA TERZA VOLTA CHE VI SCRIVO", "it")
    assert signal is not None and (signal.reason, signal.matched) == (R.COMPLAINT, "È GIÀ LA TERZA VOLTA")


def test_the_matched_phrase_is_quoted_as_the_customer_wrote_it() -> None:
    signal = classify_message("Buongiorno, mi sono rotto il polso cadendo", "it")
    assert signal is not None
    assert signal.matched == "rotto il polso"


def test_curly_apostrophes_and_line_breaks_do_not_hide_a_request() -> None:
    signal = classify_message("vorrei parlare\ncon un’operatrice", "it")
    assert signal is not None and signal.reason == R.HUMAN_REQUESTED


def test_a_message_in_the_other_language_is_still_caught() -> None:
    signal = classify_message("I want to talk to a human", "it")
    assert signal is not None and signal.reason == R.HUMAN_REQUESTED


def test_the_most_urgent_reason_wins_when_several_apply() -> None:
    signal = classify_message("Vergognoso, sono caduto perché i freni hanno ceduto!", "it")
    assert signal is not None and signal.reason == R.SAFETY


def test_every_family_has_patterns_in_every_language_with_a_lexicon() -> None:
    patterns = _patterns()
    assert set(patterns) == set(FAMILIES)
    for by_lang in patterns.values():
        assert {"it", "en"} <= set(by_lang)
        assert all(by_lang.values())


def _conversation(*turns: Turn) -> Conversation:
    return Conversation(id="c1", turns=list(turns))


def test_any_signal_hands_off_with_that_reason_even_when_grounded() -> None:
    signal = SensitiveSignal(R.INJURY, "injury", "sono caduto", "lexicon")
    handoff = decide_handoff(
        signal=signal,
        grounded=True,
        conversation=_conversation(),
        message="sono caduto dalla bici",
        lang="it",
        evidence=["https://example.test/garanzia"],
    )
    assert handoff is not None
    assert handoff.reason == R.INJURY
    assert handoff.language == "it"
    assert handoff.evidence == ["https://example.test/garanzia"]


def test_an_ungrounded_answer_hands_off_as_no_answer() -> None:
    handoff = decide_handoff(
        signal=None,
        grounded=False,
        conversation=_conversation(),
        message="fate noleggio di tandem?",
        lang="it",
        evidence=[],
    )
    assert handoff is not None and handoff.reason == R.NO_ANSWER


def test_a_grounded_answer_without_signal_stays_with_the_bot() -> None:
    handoff = decide_handoff(
        signal=None,
        grounded=True,
        conversation=_conversation(),
        message="orari di Padova?",
        lang="it",
        evidence=[],
    )
    assert handoff is None


def test_the_same_question_after_an_unanswered_reply_is_a_repeated_failure() -> None:
    conversation = _conversation(
        Turn("customer", "fate noleggio di tandem a Padova?"),
        Turn("bot", "Non ho trovato questa informazione.", grounded=False),
    )
    handoff = decide_handoff(
        signal=None,
        grounded=False,
        conversation=conversation,
        message="ma fate noleggio tandem a Padova o no?",
        lang="it",
        evidence=[],
    )
    assert handoff is not None and handoff.reason == R.REPEATED_FAILURE


def test_a_repeated_failure_is_found_when_the_message_is_already_the_last_turn() -> None:
    message = "do you rent tandems?"
    conversation = _conversation(
        Turn("customer", "Do you rent tandems?"),
        Turn("bot", "I could not find that.", grounded=False),
        Turn("customer", message),
    )
    handoff = decide_handoff(
        signal=None, grounded=True, conversation=conversation, message=message, lang="en", evidence=[]
    )
    assert handoff is not None and handoff.reason == R.REPEATED_FAILURE


def test_repeating_a_question_the_bot_answered_is_not_a_failure() -> None:
    conversation = _conversation(
        Turn("customer", "orari del negozio di Padova?"),
        Turn("bot", "Lun-ven 9-19.", grounded=True),
    )
    handoff = decide_handoff(
        signal=None,
        grounded=True,
        conversation=conversation,
        message="orari negozio di Padova?",
        lang="it",
        evidence=[],
    )
    assert handoff is None


def test_a_new_question_after_an_unanswered_reply_is_only_no_answer() -> None:
    conversation = _conversation(
        Turn("customer", "fate noleggio di tandem?"),
        Turn("bot", "Non ho trovato questa informazione.", grounded=False),
    )
    handoff = decide_handoff(
        signal=None,
        grounded=False,
        conversation=conversation,
        message="quanto costa la revisione della forcella?",
        lang="it",
        evidence=[],
    )
    assert handoff is not None and handoff.reason == R.NO_ANSWER


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("fate noleggio di tandem?", "fate noleggio di tandem??", True),
        ("noleggio tandem", "ma fate noleggio tandem a Padova?", True),  # containment
        ("Quanto costa il casco?", "quanto costa il casco integrale", True),  # Jaccard 4/5
        ("ciao", "ciao, dove siete?", False),  # one word contained says nothing
        ("orari di Padova", "prezzo della revisione", False),
        ("", "qualcosa", False),
    ],
)
def test_near_duplicate_questions(a: str, b: str, expected: bool) -> None:
    assert near_duplicate(a, b) is expected


def test_the_summary_names_reason_language_and_question() -> None:
    summary = summarize_for_operator(
        _conversation(), "Mi sono fatto male cadendo dalla bici", R.INJURY, "it", trigger="fatto male"
    )
    assert "injury" in summary
    assert "Italian" in summary
    assert "Mi sono fatto male cadendo dalla bici" in summary
    assert summary.count("\n") == 1


def test_the_summary_mentions_the_conversation_focus() -> None:
    conversation = Conversation(id="c2", focus={"store": "store:padova"})
    summary = summarize_for_operator(conversation, "non trovo risposta", R.NO_ANSWER, "it")
    assert "store:padova" in summary


def test_a_long_message_is_shortened_to_fit_the_summary() -> None:
    message = "Buongiorno, " + "vorrei sapere molte cose sulla bici " * 30
    summary = summarize_for_operator(_conversation(), message, R.NO_ANSWER, "it")
    assert len(summary) <= SUMMARY_MAX_CHARS
    assert summary.endswith('…"')


def test_the_handoff_summary_quotes_the_trigger_phrase() -> None:
    message = "Buongiorno, la batteria fuma da stamattina, cosa faccio?"
    signal = classify_message(message, "it")
    handoff = decide_handoff(
        signal=signal, grounded=True, conversation=_conversation(), message=message, lang="it", evidence=[]
    )
    assert handoff is not None
    assert 'trigger: "batteria fuma"' in handoff.summary


# --- the brand's own terms (manifest `sensitive:`) ---------------------------------------------
def test_a_brand_term_hands_off_with_its_family_as_whole_words_ignoring_case_and_accents() -> None:
    terms = {"safety": ["richiamo Vapora K2"], "legal": ["Altroconsumo"]}
    signal = classify_message("Il mio bollitore è nel RICHIAMO vapora k2?", "it", brand_terms=terms)
    assert signal is not None and (signal.reason, signal.how) == (HandoffReason.SAFETY, "brand_term")
    assert classify_message("Il richiamo vapora k20 è diverso?", "it", brand_terms=terms) is None


def test_the_manifest_validates_sensitive_families(tmp_path) -> None:
    (tmp_path / "faq.csv").write_text("question,answer\nq,a\n", encoding="utf-8")
    manifest = tmp_path / "sources.yaml"
    manifest.write_text("brand: X\nsensitive:\n  hazards: [fire]\nsources:\n  - {id: faq, type: faq, path: faq.csv}\n",
                        encoding="utf-8")
    with pytest.raises(ManifestError, match="sensitive"):
        load_manifest(manifest)


def _vote(label: str, votes: int, neighbours: int = 7) -> ExemplarVote:
    return ExemplarVote(label, votes, neighbours, 0.9, label, "example")


def test_meaning_hands_off_a_harm_the_knowledge_base_seems_to_answer_only_when_all_but_one_example_agree() -> None:
    assert meaning_signal("…", _vote("sensitive.injury", 6), answered_well=True) is not None
    assert meaning_signal("…", _vote("sensitive.injury", 5), answered_well=True) is None
    assert meaning_signal("…", _vote("sensitive.injury", 5), answered_well=False) is not None


def test_meaning_alone_hands_off_a_complaint_or_a_legal_matter_only_when_every_example_agrees() -> None:
    assert meaning_signal("…", _vote("sensitive.legal", 6), answered_well=False) is None
    assert meaning_signal("…", _vote("sensitive.legal", 7), answered_well=True) is not None
