"""Function words of the sample stories, listed by hand (articles, pronouns, particles,
prepositions, conjunctions, auxiliaries): none may be offered as a word to study."""

from __future__ import annotations

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "el": frozenset(
        "ο η το οι τα του της των τον την τη τους τις στο στη στην στον στα στις στους σε "
        "και κι με για από να θα δεν μη μην που πως ότι όταν αλλά ή αν ένα ένας μια μία έναν "
        "ενός μιας αυτός αυτή αυτό αυτοί αυτά εγώ εσύ εμείς εσείς μου σου μας σας τους "
        "είμαι είναι ήταν έχω έχει είχε κάθε όλοι όλα όλη όλος πολύ πιο μέχρι γιατί ενώ "
        "ως προς χωρίς μετά πριν κατά".split()
    ),
    "fr": frozenset(
        "le la les l' un une des de du d' et à au aux en dans par pour sur avec sans sous "
        "que qu' qui ne n' pas plus il elle ils elles je j' tu nous vous on se s' son sa ses "
        "leur leurs ce cet cette ces mon ma mes ton ta tes y lui être avoir est sont a ont "
        "était mais ou donc car où chaque tout tous toute toutes très déjà toujours".split()
    ),
    "es": frozenset(
        "el la los las un una unos unas de del al a en con sin por para y e o u que qué "
        "quien no se su sus mi mis tu tus él ella ellos ellas yo nosotros le les lo me te "
        "ser estar es son está están era haber ha han muy pero como cuando donde cada todo "
        "todos toda todas".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine einen einem einer eines und oder aber zu zum zur "
        "in im an am auf mit von vom für aus bei nach über unter vor ich du er sie es wir "
        "ihr sein seine ihre ihren mein meine sich nicht ist sind war waren hat haben wird "
        "werden jeden jeder jede jedes dann sehr schon immer noch auch".split()
    ),
}
