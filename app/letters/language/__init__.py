"""Names and grammar for letters in the six UN languages (en, fr, es, ru, ar, zh).

Pure functions over data shipped in ``data/`` (each row with its source; see data/README.md):

* states — ``country_name(code, lang, form="short"|"formal", case=...)``: short names from CLDR
  (Babel), formal names from UNTERM; ``country_article`` / ``country_gender`` for fr/es;
* treaties — ``treaty_name(treaty, lang, form="full"|"short"|"abbreviation", case=...)``,
  ``treaty_grammar``;
* meetings — ``meeting_name(treaty, kind, number, lang, case=...)``, ``meeting_label``,
  ``parse_meeting``, ``ordinal``;
* cities — ``city_name(city_en, lang)``;
* grammar — ``inflect(text, case, lang)`` (Russian cases through pymorphy3 and the stored
  forms), ``with_article(text, lang, preposition=None)`` (French/Spanish articles and
  contractions);
* numbers and dates — ``count(n, unit, lang)``, ``format_date(d, lang)``,
  ``date_line(city, d, lang)``;
* ``filters.FILTERS`` — the Jinja filters ``case``, ``article``, ``count``, ``days``,
  ``local_date`` for the letter sandbox.

Where the data has no form for a language, functions return "" — never the English name.
"""

from app.letters.language.formatting import count, date_line, format_date
from app.letters.language.grammar import article_of, inflect, with_article
from app.letters.language.names import (
    MeetingRef,
    city_name,
    country_article,
    country_gender,
    country_name,
    meeting_label,
    meeting_name,
    ordinal,
    parse_meeting,
    treaty_grammar,
    treaty_name,
)

__all__ = [
    "MeetingRef",
    "article_of",
    "city_name",
    "count",
    "country_article",
    "country_gender",
    "country_name",
    "date_line",
    "format_date",
    "inflect",
    "meeting_label",
    "meeting_name",
    "ordinal",
    "parse_meeting",
    "treaty_grammar",
    "treaty_name",
    "with_article",
]
