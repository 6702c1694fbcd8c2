"""Reading a contacts CSV file: encoding, delimiter, header row and the column mapping.

Spreadsheets save CSV in many ways: UTF-8 with or without a byte-order mark, UTF-16 ("Unicode
text", tab-separated), or the Windows code page (cp1252) with ``;`` in locales whose decimal
separator is a comma. Everything here is pure (no database) so it can be tested on any input."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass

import charset_normalizer

from app.contacts.text import fold
from app.errors import InvalidInput, PayloadTooLarge

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_FIELD = 10_000

ENCODINGS: dict[str, str] = {
    "auto": "Detect automatically",
    "utf-8": "UTF-8 (with or without BOM)",
    "utf-16": "UTF-16 (Excel “Unicode text”)",
    "cp1252": "Windows-1252 (Excel, Western Europe)",
    "iso-8859-1": "ISO-8859-1 (Latin-1)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "koi8-r": "KOI8-R (Cyrillic)",
    "cp1250": "Windows-1250 (Central Europe)",
    "cp1256": "Windows-1256 (Arabic)",
    "mac-roman": "Mac Roman",
}
# the code pages of other scripts than Latin, by charset-normalizer's names
_OTHER_SCRIPTS = {"cp1251": "cp1251", "koi8_r": "koi8-r", "cp1256": "cp1256"}
# How much of a file the legacy-encoding detector reads (the rest is decoded, not examined).
DETECT_BYTES = 200_000
DELIMITERS: dict[str, str] = {"auto": "Detect", ",": "Comma (,)", ";": "Semicolon (;)", "\t": "Tab"}

# field -> (label, header spellings it is guessed from, in English, French, Spanish and Russian;
# compared folded, without punctuation)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "honorific": (
        "Honorific",
        ("honorific", "title prefix", "salutation", "prefix", "civilite", "titre de civilite")
        + ("form of address", "tratamiento", "obrashchenie", "обращение", "style"),
    ),
    "given_name": (
        "Given name",
        ("given name", "first name", "firstname", "forename", "prenom", "nombre", "имя"),
    ),
    "family_name": (
        "Family name",
        ("family name", "last name", "lastname", "surname", "nom", "nom de famille")
        + ("apellido", "apellidos", "фамилия"),
    ),
    "full_name": (
        "Full name (split at the last space)",
        ("name", "full name", "contact", "nom complet", "nombre completo", "фио", "полное имя"),
    ),
    "native_name": (
        "Name in its own script",
        ("native name", "native script", "name in own script", "local name", "original name"),
    ),
    "organisation": (
        "Organisation",
        ("organisation", "organization", "org", "company", "institution", "ministry", "employer")
        + ("organisme", "organizacion", "institucion", "организация", "учреждение"),
    ),
    "organisation_type": (
        "Organisation type",
        ("organisation type", "organization type", "type", "type d organisation")
        + ("tipo de organizacion", "tipo", "тип организации", "тип"),
    ),
    "title": (
        "Title / position",
        ("title", "position", "job title", "role", "function", "post", "fonction", "poste")
        + ("titre", "cargo", "puesto", "должность", "титул"),
    ),
    "country": (
        "Country",
        ("country", "state", "country code", "iso", "iso3", "iso2", "pays", "pais", "страна")
        + ("sending state", "etat"),
    ),
    "host_country": (
        "Host country (where an embassy or mission is)",
        ("host country", "host state", "receiving state", "pays hote", "pays de residence")
        + ("etat accreditaire", "pais anfitrion", "pais sede", "страна пребывания"),
    ),
    "host_city": (
        "Host city",
        ("host city", "duty station", "ville hote", "ciudad sede", "город пребывания"),
    ),
    "email": (
        "Email",
        ("email", "e mail", "email address", "mail", "courriel", "adresse electronique")
        + ("correo", "correo electronico", "эл почта", "электронная почта", "e-mail"),
    ),
    "phone": (
        "Phone",
        ("phone", "telephone", "tel", "phone number", "mobile", "telefono", "телефон"),
    ),
    "fax": ("Fax", ("fax", "fax number", "telefax", "telecopie", "факс")),
    "address_line1": (
        "Address line 1",
        ("address", "address line 1", "address 1", "street", "street address", "adresse")
        + ("rue", "direccion", "domicilio", "calle", "адрес", "улица"),
    ),
    "address_line2": (
        "Address line 2",
        ("address line 2", "address 2", "street 2", "complement d adresse", "адрес 2"),
    ),
    "city": ("City", ("city", "town", "locality", "ville", "localite", "ciudad", "город")),
    "postal_code": (
        "Postal code",
        ("postal code", "postcode", "zip", "zip code", "code postal", "npa", "codigo postal")
        + ("cp", "индекс", "почтовый индекс"),
    ),
    "country_area": (
        "Region / state / province",
        ("region", "province", "country area", "state province", "state or province")
        + ("provincia", "область", "регион"),
    ),
    "address_country": (
        "Address country (default: the host country, else the country)",
        ("address country", "country of address", "postal country", "mailing country")
        + ("pays de l adresse", "pais de la direccion", "страна адреса"),
    ),
    "preferred": (
        "Preferred address (yes/no)",
        ("preferred", "preferred address", "primary address", "primary", "adresse principale")
        + ("direccion principal", "основной адрес"),
    ),
    "tags": (
        "Tags (separated by , or ;)",
        ("tags", "tag", "groups", "labels", "categories", "etiquettes", "etiquetas", "теги"),
    ),
    "language": (
        "Preferred language",
        ("language", "lang", "preferred language", "langue", "idioma", "язык"),
    ),
    "no_email": ("Do not email (yes/no)", ("no email", "do not email", "noemail")),
    "no_post": ("Do not post (yes/no)", ("no post", "do not post", "nopost", "no mail")),
    "notes": (
        "Notes",
        ("notes", "note", "comments", "comment", "remarks", "remarques", "notas")
        + ("observaciones", "примечания", "комментарий"),
    ),
}

# Words honorifics are made of (folded, without dots): "H.E.", "S.E. Mme", "Excmo. Sr. D.",
# "Его Превосходительство". A value made only of these, with at least one that is not a mere
# article or pronoun, is an honorific, not a position.
HONORIFIC_WORDS = frozenset(
    {
        "he",
        "se",
        "hm",
        "hrh",
        "his",
        "her",
        "excellency",
        "son",
        "excellence",
        "sa",
        "su",
        "excelencia",
        "excmo",
        "excma",
        "excelentisimo",
        "excelentisima",
        "sr",
        "sra",
        "srta",
        "d",
        "dna",
        "don",
        "dona",
        "senor",
        "senora",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "m",
        "mme",
        "mlle",
        "monsieur",
        "madame",
        "hon",
        "honourable",
        "honorable",
        "the",
        "rt",
        "right",
        "sir",
        "dame",
        "lord",
        "lady",
        "majesty",
        "highness",
        "royal",
        "sheikh",
        "shaikh",
        "ego",
        "ee",
        "prevoshoditelstvo",
        "g-n",
        "g-za",
        "gospodin",
        "gospoza",
        "gn",
        "gza",
    }
)
_WEAK_HONORIFIC_WORDS = frozenset({"the", "his", "her", "su", "son", "sa", "d", "right", "rt"})


@dataclass(frozen=True)
class Table:
    """A decoded CSV file: the header row and the data rows (row 2 is the first data row)."""

    encoding: str
    delimiter: str
    headers: list[str]
    rows: list[list[str]]


def _has_utf16_pattern(data: bytes) -> str | None:
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nuls > half * 0.3 and even_nuls < half * 0.05:
        return "utf-16-le"
    if even_nuls > half * 0.3 and odd_nuls < half * 0.05:
        return "utf-16-be"
    return None


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The text and the encoding used. ``auto``: a byte-order mark decides, then UTF-16 without
    one (NUL bytes every other byte), then UTF-8, then the code page ``detect_legacy`` finds
    (Windows-1252, what Excel writes, unless the bytes say Cyrillic, Arabic...)."""
    if encoding not in ENCODINGS:
        raise InvalidInput(
            f"Unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}.",
            errors=[{"field": "encoding", "message": "unknown encoding"}],
        )
    if encoding != "auto":
        codec = {"utf-8": "utf-8-sig", "mac-roman": "mac_roman"}.get(encoding, encoding)
        if encoding == "utf-16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            codec = _has_utf16_pattern(data) or "utf-16-le"
        try:
            return data.decode(codec), encoding
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"The file is not valid {ENCODINGS[encoding]}: byte {exc.start + 1} cannot be "
                "read. Choose another encoding, or “Detect automatically”.",
                errors=[{"field": "encoding", "message": "the file is not in this encoding"}],
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig", "utf-8"), "utf-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", "utf-16"), "utf-16"
    guessed = _has_utf16_pattern(data)
    if guessed:
        try:
            return data.decode(guessed), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    legacy = detect_legacy(data)
    if legacy != "cp1252":
        try:
            return data.decode(legacy), legacy
        except UnicodeDecodeError:
            pass  # the sample looked so, the rest of the file does not
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # five bytes have no character in cp1252; Latin-1 reads every byte
        return data.decode("iso-8859-1"), "iso-8859-1"


def detect_legacy(data: bytes) -> str:
    """The one-byte code page a file that is not UTF-8 was most likely saved in. Words written
    wholly in bytes above 127 mean another script than Latin: charset-normalizer tells which
    (Windows-1251 or KOI8-R for Cyrillic, Windows-1256 for Arabic) from the first
    ``DETECT_BYTES``. Latin texts, where such bytes are accents inside ASCII words, read alike
    in several code pages and are taken as Windows-1252, what Excel writes in Western Europe."""
    sample = data[:DETECT_BYTES]
    words = _WORDS.findall(sample)
    accented = [w for w in words if max(w) > 127]
    whole = sum(1 for w in accented if min(w) > 127)
    if not accented or whole * 2 < len(accented):
        return "cp1252"
    best = charset_normalizer.from_bytes(sample, cp_isolation=list(_OTHER_SCRIPTS)).best()
    return _OTHER_SCRIPTS.get(best.encoding, "cp1252") if best is not None else "cp1252"


# runs of letters: ASCII ones and any byte above 127 (a letter in every code page read here)
_WORDS = re.compile(rb"[A-Za-z\x80-\xff]{2,}")


def _strict(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The file starts like {ENCODINGS[name]} but byte {exc.start + 1} cannot be read "
            "in it; save it again from the spreadsheet, or choose the encoding yourself.",
            errors=[{"field": "encoding", "message": "not readable in the detected encoding"}],
        ) from exc


def sniff_delimiter(text: str) -> str:
    """The delimiter that occurs most often, outside quotes, in the header line."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for char in text[:20_000]:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "\r\n":
            break
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(data: bytes, *, encoding: str = "auto", delimiter: str = "auto") -> Table:
    """Decode and split the file; every problem is an ``InvalidInput`` (or 413) with a reason."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(
            f"The file is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{MAX_BYTES // 1_048_576} MB. Split it into smaller files."
        )
    if delimiter not in DELIMITERS:
        raise InvalidInput(
            "The delimiter must be a comma, a semicolon or a tab.",
            errors=[{"field": "delimiter", "message": "choose , ; or tab"}],
        )
    text, used = decode(data, encoding)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InvalidInput("The file is empty.", errors=[{"field": "file", "message": "empty"}])
    if "\x00" in text:
        raise InvalidInput(
            "The file contains NUL characters: it is probably not a CSV file, or its encoding "
            "is wrong (try UTF-16).",
            errors=[{"field": "file", "message": "NUL characters"}],
        )
    sep = sniff_delimiter(text) if delimiter == "auto" else delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)
    rows: list[list[str]] = []
    try:
        for record in reader:
            if len(rows) > MAX_ROWS:
                raise InvalidInput(
                    f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.",
                    errors=[{"field": "file", "message": "too many rows"}],
                )
            rows.append(record)
    except csv.Error as exc:
        raise InvalidInput(
            f"Row {len(rows) + 1} cannot be read as CSV ({exc}); check its quotes.",
            errors=[{"field": "file", "message": str(exc)}],
        ) from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InvalidInput("The file is empty.", errors=[{"field": "file", "message": "empty"}])
    headers = [h.strip() for h in rows[0]]
    if len(headers) > MAX_COLUMNS:
        raise InvalidInput(
            f"The file has {len(headers)} columns; at most {MAX_COLUMNS} are read.",
            errors=[{"field": "file", "message": "too many columns"}],
        )
    return Table(encoding=used, delimiter=sep, headers=headers, rows=rows[1:])


def _header_key(header: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in fold(header)).split())


def is_honorific(value: str) -> bool:
    """Whether a cell holds a form of address ("H.E.", "S.E. M.", "Excmo. Sr.", "Его
    Превосходительство") rather than a position."""
    words = [w.replace(".", "").strip(",") for w in fold(value).split()]
    words = [w for w in words if w]
    return (
        bool(words)
        and all(w in HONORIFIC_WORDS for w in words)
        and any(w not in _WEAK_HONORIFIC_WORDS for w in words)
    )


def guess_mapping(headers: list[str], rows: list[list[str]] | None = None) -> list[str]:
    """The field each column most likely holds ("" = ignore); each field used once. With the
    ``rows``, a "Title" column whose values are all forms of address ("H.E.") is the
    honorific, not the position."""
    aliases = {_header_key(alias): field for field, (_, names) in FIELDS.items() for alias in names}
    aliases.update({_header_key(field): field for field in FIELDS})
    aliases.update({_header_key(label): field for field, (label, _) in FIELDS.items()})
    guessed = [aliases.get(_header_key(header), "") for header in headers]
    if rows and "honorific" not in guessed:
        for index, field in enumerate(guessed):
            if field in ("title", ""):
                values = [r[index].strip() for r in rows[:200] if index < len(r) and r[index]]
                values = [v for v in values if v]
                if values and all(is_honorific(v) for v in values):
                    guessed[index] = "honorific"
                    break
    used: set[str] = set()
    out = []
    for field in guessed:
        if field in used:
            field = ""
        if field:
            used.add(field)
        out.append(field)
    return out


def header_key(headers: list[str]) -> str:
    """What identifies a file's layout: a hash of its folded header row (the same columns in
    the same order, however they are capitalised or accented)."""
    folded = "\x1f".join(_header_key(h) for h in headers)
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


# A letter Excel could not save in the file's code page becomes "?": a cell of only question
# marks (and spaces), or two question marks inside or at the edge of a word.
_GARBLED = re.compile(r"^[?\s]*\?[?\s]*\?[?\s]*$|\w\?\?|\?\?\w")


def garbled(value: str) -> bool:
    """Whether a cell looks like letters replaced by "?" when the file was saved."""
    return "??" in value.replace(" ", "") and bool(_GARBLED.search(value.strip()))


def resolve_mapping(
    headers: list[str],
    mapping: dict[str, str] | list[str] | None,
    rows: list[list[str]] | None = None,
) -> list[str]:
    """A field (or "") per column, from ``{"header or column number": "field"}``, a list, or
    ``None`` for the mapping guessed from the headers (and the ``rows``' first values). Unknown
    fields and a field used twice are refused."""
    if mapping is None:
        return guess_mapping(headers, rows)
    out = [""] * len(headers)
    if isinstance(mapping, list):
        if len(mapping) > len(headers):
            raise InvalidInput(
                f"The mapping lists {len(mapping)} columns; the file has {len(headers)}.",
                errors=[{"field": "mapping", "message": "more columns than the file has"}],
            )
        for i, field in enumerate(mapping):
            out[i] = field or ""
    else:
        for key, field in mapping.items():
            if key in headers:
                index = headers.index(key)
            elif key.isdigit() and 1 <= int(key) <= len(headers):
                index = int(key) - 1
            else:
                raise InvalidInput(
                    f"The mapping names a column {key!r} that the file does not have.",
                    errors=[{"field": "mapping", "message": f"no column {key!r}"}],
                )
            out[index] = field or ""
    seen: set[str] = set()
    for field in out:
        if not field:
            continue
        if field not in FIELDS:
            raise InvalidInput(
                f"{field!r} is not a contact field; use one of {', '.join(FIELDS)}.",
                errors=[{"field": "mapping", "message": f"unknown field {field!r}"}],
            )
        if field in seen:
            raise InvalidInput(
                f"Two columns are mapped to {FIELDS[field][0]!r}; map each field once.",
                errors=[{"field": "mapping", "message": f"{field} mapped twice"}],
            )
        seen.add(field)
    names = {"given_name", "family_name", "full_name", "native_name", "organisation"}
    if not seen & names:
        raise InvalidInput(
            "Map at least one name column (given, family, full or native-script name) or the "
            "organisation.",
            errors=[{"field": "mapping", "message": "no name column mapped"}],
        )
    return out


def write_csv(headers: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    """The inverse of ``read_table`` (used by tests and the benchmark)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()
