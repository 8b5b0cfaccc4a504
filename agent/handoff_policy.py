"""When a conversation goes to a person: the safety and handoff policy as pure functions.

The policy is data: `LEXICON` lists, per reason and per language, the regular expressions that
trigger a handoff. Patterns are written lower-case and without accents (messages are folded the
same way before matching), a space in a pattern matches any run of whitespace, and each family says
why it is there. They are deliberately about *failure, harm or intent*, not topics: "il freno
posteriore fa rumore" is a service question, "i freni non funzionano" is a safety report.

Both languages' patterns are tried on every message (customers mix languages and detection of a
short message can be wrong); the message's own language is tried first so `matched` reads naturally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.conversation import Conversation, Turn
from agent.reply import Handoff, HandoffReason
from knowledge.text import fold


@dataclass(frozen=True)
class PolicySignal:
    reason: HandoffReason
    matched: str  # the phrase that triggered it, as the customer wrote it (for the summary/evidence)


# Shared vocabulary, spliced into the patterns below.
_IT_PERSON = r"(operat\w*|opratore|oepratore|persona|persone|umano|umana|essere umano|addett\w*|impiegat\w*|responsabile|commess\w*|consulente|qualcuno|assistenza)"
_EN_PERSON = r"(human|humans|person|people|agent|operator|representative|rep|someone|somebody|anyone|staff|manager|supervisor|customer service|customer support)"
# Body parts that are not also bike parts ("testa" dello sterzo, "dente" della corona, "tooth" of a cog).
_IT_BODY = r"(polso|polsi|braccio|braccia|gamba|gambe|caviglia|clavicola|costol\w+|naso|dito|dita|spalla|ginocchio|mano|piede|femore|anca|bacino|schiena|collo|gomito)"
_EN_BODY = r"(arm|arms|wrist|wrists|leg|legs|ankle|collarbone|collar bone|rib|ribs|nose|finger|fingers|shoulder|knee|hand|foot|hip|pelvis|neck|elbow|back|head)"

# reason -> language -> patterns. Order of reasons is precedence: when a message carries several
# signals, the most urgent one names the handoff (a fall with a broken arm is an injury even if the
# customer is also furious).
LEXICON: dict[HandoffReason, dict[str, tuple[str, ...]]] = {
    HandoffReason.SAFETY: {
        "it": (
            # A battery that smokes, burns, swells or overheats can start a fire: lithium packs (in
            # e-bikes, scooters, phones, tools) are the commonest physical danger a shop sells.
            r"\bbatteri\w*\W+(\w+\W+){0,7}(fuma\w*|fumo|brucia\w*|bruciat\w*|gonfi\w*|scott\w*|surriscald\w*|scoppi\w*|esplo\w*|prende fuoco|preso fuoco|in fiamme|scintill\w*|perde liquido)",
            r"\b(fumo|fiamme|scintille|odore di bruciato)\W+(\w+\W+){0,4}(dalla |della |nella |sulla )?batteri",
            # Fire, smoke and explosions regardless of the part involved.
            r"\b(incendio|incendiat\w*|prende fuoco|preso fuoco|prendere fuoco|in fiamme|esplos[ao]|e esploso|scoppiat[ao]|fa fumo|fuma|usciva fumo|esce fumo|odore di bruciato|surriscalda\w*|scossa elettrica|presa la scossa|fuga di gas|perdita di gas)\b",
            # Brakes that fail (not brakes that squeak): losing the ability to stop is a danger report.
            r"\bfren\w*\W+(\w+\W+){0,3}(non (funzion\w*|frena\w*|va|vanno|tien\w*|rispond\w*)|ha(nno)? ceduto|cedut\w*|cedono|cede|si (e|sono) bloccat\w*|bloccat\w* in corsa)",
            r"\bnon (funziona|funzionano|frena|frenano|tiene|tengono|va|vanno) (piu )?(il |i |la |le )?(fren\w*)",
            r"\b(non (frena|frenano|si ferma|si fermava|riesco a (frenare|fermarmi))|senza freni|rottura dei freni)\b",
            # Structural failures: a cracked frame or fork, or a part that came off while riding.
            r"\b(telaio|forcella|manubrio|reggisella|pedivella|cerchio|carbonio|forcellino|attacco manubrio)\W+(\w+\W+){0,4}(crepat\w*|incrinat\w*|spezzat\w*|si e spezzat\w*|ha ceduto)",
            r"\b(crepa|crepe|incrinatura|cricca|crepatura) (sul|nel|al|del|della|sulla|nella) (telaio|forcella|manubrio|carbonio|cerchio)",
            # A wheel or handlebar coming off is a danger; a chain coming off is an ordinary repair.
            r"\b(manubrio|ruota|forcella|pedale|pedivella|reggisella|sella)\W+(\w+\W+){0,2}(staccat\w*|spezzat\w*|sganciat\w*) (mentre|durante|in discesa|in corsa)",
            r"\bsi (e|sono) (staccat\w*|spezzat\w*|sganciat\w*) (il |la |lo |l'|i |le )?(manubrio|ruota|ruote|forcella|pedale|pedivella|reggisella|sella)\b",
            # A manufacturer recall is a safety matter by definition.
            r"\b(richiamo|richiami|campagna di richiamo) (di |per |del |dei |della )?(sicurezza|prodott\w*|produttore|costruttore)",
            r"\b(richiamat\w*|ritirat\w*) dal (produttore|mercato|costruttore)",
        ),
        "en": (
            r"\bbatter(y|ies)\W+(\w+\W+){0,7}(smok\w*|burn\w*|swell\w*|swollen|bulg\w*|overheat\w*|explod\w*|caught fire|on fire|leak\w*|spark\w*|hot to the touch)",
            r"\b(smoking|burning|swollen|swelling|bulging|overheating|overheated|leaking|sparking) (e-?bike |scooter |lithium )?batter(y|ies)\b",
            r"\b(smoke|flames|sparks|burning smell)\W+(\w+\W+){0,4}(from |out of |coming out of )?(the |my )?batter(y|ies)",
            r"\b(on fire|caught fire|catch(es|ing)? fire|burst into flames|fire hazard|exploded|explosion|smok(e|ing) (is )?coming|(is|was|started|keeps|kept) smoking|burning smell|smells? (like )?burn\w*|(is|was|keeps|kept|started) overheating|overheated|electric shock|got a shock|melted|gas leak|choking hazard)\b",
            r"\bbrakes?\W+(\w+\W+){0,3}(failed|fail|fails|failing|(do not|don't|dont|did not|didn't|does not|doesn't|doesnt|aren't|are not|is not|isn't) (work|working|stop|stopping|engage)|stopped working|gave out|went out|locked up|locking up)",
            r"\b((couldn't|could not|can't|cannot|can not|unable to) (stop|brake)|no brakes|brake failure|lost (my |the )?brakes)\b",
            r"\b(frame|fork|handlebars?|stem|seatpost|seat post|crank|rim|carbon|dropout)\W+(\w+\W+){0,4}(cracked|snapped|split|broke in half|sheared)",
            r"\bcracks? (in|on) (the |my )?(frame|fork|handlebars?|carbon|rim)",
            r"\b(handlebars?|stem|wheel|fork|pedal|crank|seatpost|saddle)\W+(\w+\W+){0,2}(came off|snapped|broke off|detached|fell off) (while|when|during|mid|at speed)",
            r"\b((safety|product) recalls?|recall (notice|campaign|on|for)|(been|was|is|are|were|being) (\w+ ){0,3}recalled)\b",
        ),
    },
    HandoffReason.INJURY: {
        "it": (
            # Someone got hurt: the customer needs care and the shop may have liability, so a person
            # answers, never a bot.
            # Only people fall here: "la catena è caduta" is a repair, so the subject is a person.
            r"\b(sono|siamo|ero|eravamo) (cadut[oaie]|volat[oaie])\b",
            r"\b(figli[oa]|bambin[oa]|moglie|marito|compagn[oa]|amic[oa]|ragazz[oa]|padre|madre|papa|mamma) (e|si e) (cadut[oaie]|fatt[oa] male)\b",
            r"\b(caduta|cadute) (dalla|in) (bici|bicicletta|e-?bike|monopattino|sella)\b",
            r"\b(mi|ci|si) (sono|e|siamo) (fatt[oaie] male|ferit[oaie]|infortunat[oaie]|lesionat[oaie])\b",
            r"\bmi fa(nno)? (molto |tanto |ancora |malissimo)?male\b",
            r"\b(infortun\w*|ferit[oaie]|ferita|feriment\w*|frattur\w*|contusion\w*|distorsion\w*|slogat\w*|ingessat\w*|punti di sutura|pronto soccorso|in ospedale|all'ospedale|ambulanza|sanguin\w*|emorragi\w*|commozione cerebrale|trauma cranico)\b",
            r"\b(rott[oaie]|fratturat[oaie]|slogat[oaie]|lussat[oaie]) (il |la |lo |l'|i |le |gli |un |una |un')?"
            + _IT_BODY
            + r"\b",
            r"\b(ha|hanno) (ingoiato|inghiottito)\b|\b(ho|ha|abbiamo) (avuto )?un incidente\b|\b(sono stat[oa]|e stat[oa]) investit[oa]\b|\bho battuto la testa\b",
        ),
        "en": (
            r"\b(i|we|he|she|they|my (son|daughter|kid|child|wife|husband|partner|friend)) (fell|crashed|came off|was thrown|got hurt)\b",
            r"\b(fell|falling|fallen|thrown) (off|from) (my |the |his |her |their )?(bike|bicycle|e-?bike|scooter|saddle)",
            r"\b(injur\w*|concussion|stitches|emergency room|a and e|a&e|ambulance|hospitali[sz]ed|in hospital|to the hospital)\b",
            # "hurt", except in "it wouldn't hurt to ...": lookbehinds must be fixed-width, hence two.
            r"(?<!n't\s)(?<!not\s)\b(hurt|hurts|hurting)\b",
            r"\b(i'm|i am|he's|he is|she's|she is|is|was|am|are|were|started|keeps?|kept|still) bleeding\b",
            r"\b(broke|broken|fractured|sprained|dislocated|twisted) (my |his |her |their |our |a )"
            + _EN_BODY
            + r"\b",
            r"\b(broken|fractured|sprained|dislocated) (arm|wrist|leg|ankle|collarbone|collar bone|ribs?|nose|finger|shoulder|hip)\b",
            r"\b(swallowed|choked on)\b|\b(had|have been in|was in|got into) an? (accident|crash)\b|\b(hit|knocked down) by a (car|vehicle|truck)\b",
            r"\b(hit|banged|bumped|knocked) (my|his|her|their|our) head\b",
        ),
    },
    HandoffReason.MEDICAL: {
        "it": (
            # Health conditions, pregnancy, medication and doctors: "posso andare in bici con ..." is
            # medical advice the shop must not give; a person redirects to a doctor.
            r"\b(incint[ae]|gravidanza|gestazione|allattamento)\b",
            # Allergies and intoxication: the answer depends on the person, not the product sheet.
            r"\b(allergi\w*|allergic\w*|reazione allergica|shock anafilattico|intossicazion\w*|avvelenament\w*|eruzione cutanea|dermatit\w*)\b",
            r"\b(problem\w*|malatti\w*|disturb\w*|operazione|intervento) (al|di|del) cuore\b",
            r"\b(cardiopati\w*|cardiac\w*|cardiolog\w*|infarto|ictus|pacemaker|bypass|aritmi\w*|ipertes\w*|pressione alta|pressione bassa|scompenso)\b",
            r"\b(diabet\w*|epiless\w*|epilettic\w*|asma|asmatic\w*|artrosi|artrite|ernia|osteoporosi|sclerosi|parkinson|tumore|chemio\w*|convalescen\w*|vertigini|labirintite)\b",
            r"\b(protesi (all'|d'|al |alla )?(anca|ginocchio)|operat[oa] (al|alla|all') ?(ginocchio|anca|cuore|menisco|schiena|spalla|crociato)|intervento chirurgico|riabilitazione|fisioterap\w*)\b",
            r"\b(farmac[oi]|medicin\w*|pillol\w*|antidolorific\w*|anticoagulant\w*|antinfiammatori\w*|insulina|cure mediche|terapia)\b",
            r"\b(medic[oi]|dottore|dottoressa|ortoped\w*|fisiatra|pediatra|ginecolog\w*|mal di schiena|dolori? cronic\w*)\b",
        ),
        "en": (
            r"\b(pregnan\w*|breastfeeding)\b",
            r"\b(allerg\w*|anaphyla\w*|skin rash|rash on|poisoning|dermatitis|eczema)\b",
            # "heart" alone would catch heart-rate monitors, "stroke" alone a pedal stroke.
            r"\bheart (condition|problem|disease|issue|attack|surgery|failure|murmur)s?\b|\b(cardiac|cardiologist|pacemaker|arrhythmia|had a stroke|high blood pressure|hypertension)\b",
            r"\b(diabet\w*|epilep\w*|seizures?|asthma\w*|arthritis|osteoporosis|multiple sclerosis|parkinson'?s|cancer|chemo\w*|vertigo|hernia)\b",
            r"\b(hip replacement|knee replacement|knee surgery|back surgery|(had|having|after) (an? )?(surgery|operation)|physio\w*|rehab\w*)\b",
            r"\b(medication|medications|medicine|medicines|pills|prescription|painkillers?|blood thinners?|insulin)\b",
            r"\b(doctor|doctors|physician|orthopedi\w*|orthopaedi\w*|medical (condition|advice|reasons?|issues?|problems?)|health (condition|issues?|problems?)|my condition|back pain|chronic pain)\b",
        ),
    },
    HandoffReason.LEGAL: {
        "it": (
            # Lawyers, lawsuits, formal notices, compensation and consumer associations: anything the
            # bot says could be used in a dispute.
            r"\b(avvocat\w*|querel\w*|denunc\w*|diffid\w*|risarciment\w*|tribunale|giudice di pace|giudice|class action|codacons|altroconsumo|associazion\w* (dei |di )?consumatori|carte bollate)\b",
            # "legale" only as a lawyer or a lawsuit: "sede legale" is an address, "garanzia legale"
            # a warranty question.
            r"\b(mio|mia|un|tramite il|tramite|dal mio|al mio|consulente|ufficio|studio) legale\b|\b(vie|azione|azioni|procedura|spese) legal[ei]\b",
            # "causa" alone is "because of" ("a causa del"): only a lawsuit is legal.
            r"\b(fare|far|faro|faccio|fargli|farvi|vi faccio|intentare|intento|avviare|avvio|aprire) (una )?causa\b|\bcausa (legale|civile)\b",
            # GDPR data-subject requests (erasure, access, portability) have legal deadlines (art. 12 GDPR).
            r"\b(cancell\w*|elimin\w*|rimuov\w*|rimozione|accesso|portabilita|copia) (di |a |ai |dei |tutti )*(i )?(miei dati|dati personali)\b",
            r"\b(cancell\w*|elimin\w*|chiudere) (il )?mio (account|profilo)\b|\bdiritto all'oblio\b|\bgdpr\b|\bgarante (della |per la )?privacy\b",
        ),
        "en": (
            r"\b(lawyer|lawyers|attorney|solicitor|lawsuit|litigation|legal action|legal proceedings|small claims|(to|in|into) court|sue you|sue them|sue your|suing|i will sue|i'll sue|going to sue|trading standards|consumer protection|ombudsman|class action|cease and desist)\b",
            r"\b(delete|erase|remove|wipe) (all )?(of )?my (personal )?(data|information|details|account)\b|\bright to (be forgotten|erasure)\b|\b(subject access request|dsar|gdpr)\b",
        ),
    },
    HandoffReason.HUMAN_REQUESTED: {
        "it": (
            # The customer asks for a person: always honoured, it is their right to leave the bot.
            r"\b(parlare|parlarne|parlo|parlerei|chattare|scrivere|sentire) (con|a) (un |una |un'|uno |l'|il |la |qualche |del |della )?(vero |vera |)"
            + _IT_PERSON,
            r"\b(passami|passatemi|mi passi|mi passa|mi passate|mi potete passare|mi puoi passare|mettetemi in contatto con|mettermi in contatto con|contattare) (un |una |un'|l'|il |la |qualche )?"
            + _IT_PERSON,
            r"\b(voglio|vorrei|chiedo|serve|mi serve|posso avere|c'e|ce) (un |una |un'|uno |l'|il )?(operat\w*|opratore|persona (vera|reale|fisica)|umano|essere umano)\b",
            r"\bassistenza (umana|reale|di una persona|da una persona)\b|\b(operatore|persona) (umano|umana|reale|vera|in carne)\b",
            r"\b(non|basta) (voglio |vorrei )?(parlare|chattare|scrivere) (con|a) (un |il |una |l')?(bot|robot|macchina|chatbot|assistente virtuale|ia|intelligenza artificiale)\b",
            r"\b(richiamatemi|chiamatemi|mi (potete|puoi|puo|potreste|potete) (ri)?chiamare)\b",
            # A message that is nothing but the magic word, as people type in phone menus.
            r"^\W*(un |l')?(operatore|operatrice|umano|persona)\W*$",
        ),
        "en": (
            r"\b(talk|speak|chat|connect me|put me through|transfer me|get me|let me talk|let me speak)( to| with)? (a |an |the |some |your |to a )?(real |live |actual |human )?"
            + _EN_PERSON
            + r"\b",
            r"\b(customer (service|support|care) (rep|representative|agent))\b",
            r"\b(human|live|real) (agent|operator|person|being|support|assistance)\b",
            r"\b(i want|i need|i'd like|i would like|can i (get|have)|give me) (a |an |to )?(human|person|agent|operator|representative)\b",
            r"\b(not|don't want to|stop) (talk|talking|chat|chatting) (to|with) (a |the |this )?(bot|robot|machine|chatbot)\b",
            r"\b(call me|ring me|phone me)( back)?\b",
            r"^\W*(a |an )?(human|agent|operator|representative|real person)( please)?\W*$",
        ),
    },
    HandoffReason.COMPLAINT: {
        "it": (
            # Strong negative sentiment: a person can apologise and make exceptions, the bot cannot.
            # Mild dislike ("non mi piace il colore") is not here on purpose.
            r"\b(vergogn\w*|pessim\w*|schif\w*|truff\w*|inaccettabil\w*|indecent\w*|scandalos\w*|ladri|ladrocinio|incompetent\w*|ridicol\w*|assurd\w*|inammissibil\w*|allucinant\w*|disgustos\w*|presa in giro|prendete in giro)\b",
            r"\b(e|per) (gia |ormai |almeno )?la (terza|quarta|quinta|ennesima|decima|centesima) volta\b|\bper l'ennesima volta\b|\bmai piu\b",
            r"\b(sono|siamo) (molto |davvero |veramente |proprio |estremamente )?(arrabbiat\w*|furios\w*|incazzat\w*|stufo|stufa|stufi|esasperat\w*|indignat\w*|furibond\w*)\b",
            r"\b(molto|davvero|estremamente|profondamente|veramente) delus[oaie]\b|\bdelusissim\w*\b|\bnessuno (mi )?risponde\b|\bnon rispondete mai\b",
            # Insults and profanity. "stupido" only aimed at the shop: "scusate la domanda stupida" is polite.
            r"\b(idiot\w*|cretin\w*|imbecill\w*|buffon\w*|pagliacc\w*|cazz\w*|merd\w*|stronz\w*|vaffanculo|fanculo|coglion\w*|deficient\w*|cialtron\w*)\b",
            r"\b(siete|sei|e) (proprio |davvero |veramente |degli |dei |un |una )*(stupid\w*|incapac\w*|inutil\w*)\b",
        ),
        "en": (
            r"\b(disgust\w*|scam|scams|scammers?|scammed|unacceptable|furious|ridiculous|outrageous|appalling|pathetic|shameful|disgrace\w*|rip-?off|ripped off|fraud\w*|livid|fed up|sick and tired|never again|joke of a)\b",
            r"\bworst (\w+ )?(service|experience|company|shop|store|support|customer service|purchase|ever)\b",
            r"\b(terrible|horrible|awful|dreadful|shocking|abysmal|atrocious) (\w+ )?(service|experience|support|quality|company|shop|store|customer service)\b",
            r"\b(the|a) (third|fourth|fifth|tenth|umpteenth|hundredth|nth) time\b|\bnobody (ever )?(answers|replies|responds)\b",
            r"\b(idiots?|morons?|fuck\w*|shit\w*|crap|bullshit|wtf)\b",
            r"\b(you|you're|you are|ur|this|it|is|are) (so |really |completely |totally |absolutely |fucking |just )*(stupid|useless|incompetent|clueless|a joke)\b",
        ),
    },
}

# Shouting in capitals and "!!!" count as a complaint only next to a negative word and without a
# positive one: "GRAZIE MILLE!!!" is joy, "QUANDO APRITE?" is someone who types in capitals.
POSITIVE_WORDS: tuple[str, ...] = (
    r"\b(grazie|gentilissim\w*|bravissim\w*|bravi|perfett\w*|ottim\w*|fantastic\w*|stupend\w*|bellissim\w*|felice|contento|contenta|auguri|buon natale|buone feste)\b",
    r"\b(thanks|thank you|great|awesome|amazing|love|loved|perfect|excellent|wonderful|happy|fantastic|congrats|merry christmas)\b",
)
NEGATIVE_WORDS: tuple[str, ...] = (
    r"\b(non|nn|mai|ancora|nessuno|niente|nulla|problema|problemi|ritardo|rotto|rotta|sbagliat\w*|dove)\b",
    r"\b(not|no|never|still|nobody|nothing|problem|late|broken|wrong|where)\b|n't\b",
)
_EXCLAMATIONS = re.compile(r"(!\s*){3,}|[!?]{4,}")


def _compile(pattern: str) -> re.Pattern[str]:
    # A space in a lexicon pattern stands for any whitespace run: customers type double spaces and newlines.
    return re.compile(pattern.replace(" ", r"\s+"), re.IGNORECASE)


_COMPILED: dict[HandoffReason, dict[str, tuple[re.Pattern[str], ...]]] = {
    reason: {lang: tuple(_compile(p) for p in patterns) for lang, patterns in by_lang.items()}
    for reason, by_lang in LEXICON.items()
}
_POSITIVE = tuple(_compile(p) for p in POSITIVE_WORDS)
_NEGATIVE = tuple(_compile(p) for p in NEGATIVE_WORDS)

def classify_message(text: str, lang: str) -> PolicySignal | None:
    """The first policy signal in a customer message, or None for an ordinary question."""
    folded = fold(text)
    for reason, by_lang in _COMPILED.items():
        for language in _languages_in_order(lang, by_lang):
            for pattern in by_lang[language]:
                match = pattern.search(folded)
                if match:
                    return PolicySignal(reason, text[match.start() : match.end()].strip())
    tone = _tone_signal(text, folded)
    return PolicySignal(HandoffReason.COMPLAINT, tone) if tone else None


def _languages_in_order(lang: str, by_lang: dict[str, tuple[re.Pattern[str], ...]]) -> list[str]:
    return sorted(by_lang, key=lambda candidate: candidate != lang)


def _tone_signal(text: str, folded: str) -> str | None:
    """Shouting in capitals or a volley of '!!!' with a negative word and no friendly one.

    Intensity alone is not anger: some people type everything in capitals, and "Arrivata!!!" is joy.
    """
    if any(p.search(folded) for p in _POSITIVE) or not any(p.search(folded) for p in _NEGATIVE):
        return None
    if _is_shouting(text) or _EXCLAMATIONS.search(text):
        return text.strip()[:80]
    return None


def _is_shouting(text: str) -> bool:
    # Three or more words in capitals making most of the message; acronyms and product codes
    # ("IVA", "XT M8100") are too short or too few to count.
    words = [w for w in re.findall(r"[^\W\d_]{2,}", text)]
    upper = [w for w in words if w.isupper() and len(w) >= 3]
    letters = sum(len(w) for w in upper)
    return len(upper) >= 3 and letters >= 12 and len(upper) >= 0.6 * len(words)


def decide_handoff(
    *,
    signal: PolicySignal | None,
    grounded: bool,
    conversation: Conversation,
    message: str,
    lang: str,
    evidence: list[str],
) -> Handoff | None:
    """Whether this turn goes to a person, and what the operator needs to pick it up.

    A policy signal always wins. A question asked again after the bot could not answer it is a
    REPEATED_FAILURE (more telling for the operator than NO_ANSWER, so it is checked first); an
    ungrounded answer is NO_ANSWER.
    """
    if signal is not None:
        reason = signal.reason
    elif is_repeated_failure(conversation, message):
        reason = HandoffReason.REPEATED_FAILURE
    elif not grounded:
        reason = HandoffReason.NO_ANSWER
    else:
        return None
    summary = summarize_for_operator(
        conversation, message, reason, lang, trigger=signal.matched if signal else None
    )
    return Handoff(reason=reason, summary=summary, language=lang, evidence=list(evidence))


def is_repeated_failure(conversation: Conversation, message: str) -> bool:
    """The customer asks again what the bot just failed to answer.

    `conversation` may or may not already hold `message` as its last turn: both are accepted.
    """
    turns = _history_before(conversation, message)
    last_customer = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "customer"), None)
    if last_customer is None:
        return False
    bot_after = [t for t in turns[last_customer + 1 :] if t.role == "bot"]
    if not bot_after or bot_after[-1].grounded is not False:
        return False
    return near_duplicate(turns[last_customer].text, message)


def _history_before(conversation: Conversation, message: str) -> list[Turn]:
    turns = list(conversation.turns)
    if turns and turns[-1].role == "customer" and _tokens(turns[-1].text) == _tokens(message):
        turns.pop()
    return turns


def near_duplicate(a: str, b: str, *, threshold: float = 0.5) -> bool:
    """Same question in other words: token Jaccard >= threshold, or one contains the other."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return False
    set_a, set_b = set(ta), set(tb)
    if len(set_a & set_b) / len(set_a | set_b) >= threshold:
        return True
    shorter, longer = sorted((ta, tb), key=len)
    # Containment of a single word ("ciao" in "ciao, dove siete?") says nothing.
    return len(shorter) >= 2 and f" {' '.join(shorter)} " in f" {' '.join(longer)} "


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))


_REASON_LABELS: dict[HandoffReason, str] = {
    HandoffReason.HUMAN_REQUESTED: "customer asked for a person",
    HandoffReason.MEDICAL: "medical question",
    HandoffReason.INJURY: "injury reported",
    HandoffReason.LEGAL: "legal matter",
    HandoffReason.SAFETY: "product safety report",
    HandoffReason.COMPLAINT: "angry complaint",
    HandoffReason.NO_ANSWER: "no answer found in the sources",
    HandoffReason.REPEATED_FAILURE: "question repeated after an unanswered reply",
    HandoffReason.STALE_INFORMATION: "sources may be out of date",
    HandoffReason.REQUESTED_EXTERNALLY: "handoff requested by the channel",
}
_LANGUAGE_NAMES = {"it": "Italian", "en": "English"}
SUMMARY_MAX_CHARS = 300


def summarize_for_operator(
    conversation: Conversation,
    message: str,
    reason: HandoffReason,
    lang: str,
    *,
    trigger: str | None = None,
) -> str:
    """Two lines for the operator: why, in which language, and what the customer asked (≤ 300 chars)."""
    language = _LANGUAGE_NAMES.get(lang, lang)
    head = f"{_REASON_LABELS.get(reason, str(reason))} · customer writes in {language}"
    if trigger and trigger.strip() != message.strip():
        head += f' · trigger: "{_shorten(trigger, 40)}"'
    if conversation.focus:
        head += " · about " + ", ".join(conversation.focus.values())
    head = _shorten(head, 160)
    asked = _shorten(message, SUMMARY_MAX_CHARS - len(head) - len('\nCustomer: ""'))
    return f'{head}\nCustomer: "{asked}"'


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"
