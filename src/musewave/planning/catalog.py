"""What the rule-based suggestions offer, as data: artists per genre, vocal languages, the
words that point at a language, and a typical mood per genre for prompt enhancement.

Genres and instruments come from the engine's own tables (``engine.genres``,
``engine.prompt.INSTRUMENT_WORDS``), so a suggestion is always something the planner reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Artists a prompt's ``artist_inspiration`` may name, per genre: well known, so a person
# recognizes the sound meant. A genre missing here borrows from the others.
ARTISTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "lofi": ("Nujabes", "J Dilla", "Idealism", "Tomppabeats", "Jinsang", "potsu"),
        "hiphop": ("DJ Premier", "Pete Rock", "A Tribe Called Quest", "Gang Starr", "Nas"),
        "trap": ("Metro Boomin", "Southside", "Travis Scott", "Future", "Wheezy"),
        "house": (
            "Larry Heard",
            "Frankie Knuckles",
            "Kerri Chandler",
            "Disclosure",
            "Purple Disco Machine",
        ),
        "techno": ("Jeff Mills", "Richie Hawtin", "Amelie Lens", "Charlotte de Witte", "Ben Klock"),
        "synthwave": ("The Midnight", "Kavinsky", "FM-84", "Gunship", "Perturbator"),
        "dnb": ("Goldie", "Netsky", "Pendulum", "Calibre", "High Contrast", "LTJ Bukem"),
        "ambient": (
            "Brian Eno",
            "Stars of the Lid",
            "Harold Budd",
            "Aphex Twin",
            "Hiroshi Yoshimura",
        ),
        "pop": ("Dua Lipa", "Taylor Swift", "The Weeknd", "Carly Rae Jepsen", "Max Martin"),
        "rock": (
            "Foo Fighters",
            "Arctic Monkeys",
            "The Strokes",
            "Queens of the Stone Age",
            "Nirvana",
        ),
        "jazz": ("Miles Davis", "Bill Evans", "John Coltrane", "Herbie Hancock", "Dave Brubeck"),
        "cinematic": (
            "Hans Zimmer",
            "John Williams",
            "Ludwig Göransson",
            "Howard Shore",
            "Two Steps from Hell",
        ),
        "piano": ("Ludovico Einaudi", "Nils Frahm", "Ólafur Arnalds", "Yiruma", "Erik Satie"),
        "reggae": (
            "Bob Marley",
            "Peter Tosh",
            "King Tubby",
            "Toots and the Maytals",
            'Lee "Scratch" Perry',
        ),
        "reggaeton": ("Bad Bunny", "Daddy Yankee", "J Balvin", "Karol G", "Tainy"),
        "funk": ("Nile Rodgers", "Chic", "Earth, Wind & Fire", "Parliament", "Daft Punk"),
        "afrobeats": ("Burna Boy", "Wizkid", "Tems", "Kabza De Small", "Fela Kuti"),
    }
)

# Vocal languages (ISO 639-1 codes, as ``vocal_languages`` takes them), most asked first.
LANGUAGES: Mapping[str, str] = MappingProxyType(
    {
        "en": "English",
        "es": "Spanish",
        "pt": "Portuguese",
        "fr": "French",
        "de": "German",
        "it": "Italian",
        "ja": "Japanese",
        "ko": "Korean",
        "zh": "Chinese",
        "hi": "Hindi",
        "ar": "Arabic",
        "ru": "Russian",
        "nl": "Dutch",
        "sv": "Swedish",
        "pl": "Polish",
        "tr": "Turkish",
        "id": "Indonesian",
        "yo": "Yoruba",
        "sw": "Swahili",
        "zu": "Zulu",
    }
)

# Words in a prompt (or a genre) that point at a language.
LANGUAGE_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "reggaeton": "es",
        "latin": "es",
        "flamenco": "es",
        "salsa": "es",
        "bachata": "es",
        "spanish": "es",
        "bossa": "pt",
        "samba": "pt",
        "brazilian": "pt",
        "fado": "pt",
        "chanson": "fr",
        "french": "fr",
        "paris": "fr",
        "schlager": "de",
        "german": "de",
        "italo": "it",
        "italian": "it",
        "j pop": "ja",
        "anime": "ja",
        "city pop": "ja",
        "japanese": "ja",
        "k pop": "ko",
        "korean": "ko",
        "c pop": "zh",
        "mandarin": "zh",
        "chinese": "zh",
        "bollywood": "hi",
        "hindi": "hi",
        "arabic": "ar",
        "afrobeats": "yo",
        "afrobeat": "yo",
        "amapiano": "zu",
        "russian": "ru",
        "turkish": "tr",
    }
)

# The mood word an enhanced prompt adds when the prompt names none.
GENRE_MOODS: Mapping[str, str] = MappingProxyType(
    {
        "lofi": "chill",
        "hiphop": "groovy",
        "trap": "dark",
        "house": "groovy",
        "techno": "dark",
        "synthwave": "nostalgic",
        "dnb": "energetic",
        "ambient": "dreamy",
        "pop": "uplifting",
        "rock": "energetic",
        "jazz": "relaxed",
        "cinematic": "epic",
        "piano": "melancholic",
        "reggae": "relaxed",
        "reggaeton": "energetic",
        "funk": "groovy",
        "afrobeats": "joyful",
    }
)
