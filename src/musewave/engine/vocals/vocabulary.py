"""What the lyric writer knows per language: line openings, and line endings grouped by
rhyme, for bright and for dark moods. Pure data. Japanese is written in kana (espeak-ng
reads no kanji); Chinese words are separated by spaces so each is one caption word.

``{X}`` in an English opening is filled with a word from the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Vocabulary:
    openings: tuple[str, ...]
    rhymes: tuple[tuple[str, ...], ...]  # endings that rhyme with each other
    hooks: tuple[str, ...]  # short chorus openings


# mood family ("bright" | "dark") → language → vocabulary
VOCABULARY: dict[str, dict[str, Vocabulary]] = {
    "bright": {
        "en": Vocabulary(
            openings=(
                "we are dancing in the",
                "hold me closer through the",
                "every heartbeat in the",
                "running wild across the",
                "singing loud beneath the",
                "{X} is calling in the",
                "I can feel it in the",
                "follow me into the",
                "golden hours of the",
                "we were made for",
                "turn it up and chase the",
                "lift your hands and touch the",
            ),
            rhymes=(
                ("light", "night", "sky so bright", "morning light", "endless flight"),
                ("sun", "run", "everyone", "we have just begun", "day is done"),
                ("sea", "free", "you and me", "wild and free", "melody"),
                ("day", "way", "far away", "here to stay", "summer day"),
                ("fire", "higher", "my desire", "burning wire", "choir"),
            ),
            hooks=("oh oh", "come on", "hey now", "yeah yeah", "tonight"),
        ),
        "es": Vocabulary(
            openings=(
                "bailamos bajo la",
                "siento en el corazón la",
                "vamos juntos hacia la",
                "canta conmigo la",
                "brilla siempre la",
                "corremos libres por la",
                "todo el mundo siente la",
            ),
            rhymes=(
                ("luz", "cruz", "tú"),
                ("vida", "salida", "querida", "perdida"),
                ("mañana", "ventana", "semana", "campana"),
                ("canción", "corazón", "emoción", "ilusión"),
            ),
            hooks=("oh oh", "ven ya", "hoy sí"),
        ),
        "fr": Vocabulary(
            openings=(
                "nous dansons sous la",
                "je chante avec la",
                "viens avec moi vers la",
                "on court ensemble dans la",
                "tout le monde aime la",
                "je sens encore la",
            ),
            rhymes=(
                ("lumière", "rivière", "hier", "la terre entière"),
                ("soleil", "merveille", "pareil", "réveil"),
                ("chanson", "horizon", "saison", "maison"),
                ("liberté", "été", "éternité", "clarté"),
            ),
            hooks=("oh oh", "allez", "ce soir"),
        ),
        "de": Vocabulary(
            openings=(
                "wir tanzen durch die",
                "ich singe für die",
                "komm mit mir in die",
                "wir laufen durch die",
                "alle Herzen lieben die",
                "ich fühle heute die",
            ),
            rhymes=(
                ("Nacht", "Macht", "erwacht", "gelacht"),
                ("Licht", "Gesicht", "Gedicht", "Gewicht"),
                ("Sonne", "Wonne", "Kolonne"),
                ("Zeit", "weit", "bereit", "Ewigkeit"),
            ),
            hooks=("oh oh", "komm schon", "heute"),
        ),
        "it": Vocabulary(
            openings=(
                "balliamo sotto la",
                "canto per te la",
                "vieni con me nella",
                "corriamo liberi nella",
                "tutto il mondo sente la",
                "sento nel cuore la",
            ),
            rhymes=(
                ("luna", "fortuna", "nessuna", "una"),
                ("amore", "cuore", "colore", "dolore"),
                ("estate", "strade", "risate"),
                ("vita", "infinita", "partita", "dita"),
            ),
            hooks=("oh oh", "dai dai", "stasera"),
        ),
        "pt": Vocabulary(
            openings=(
                "dançamos sob a",
                "eu canto para a",
                "vem comigo para a",
                "corremos livres pela",
                "todo mundo sente a",
                "eu sinto no peito a",
            ),
            rhymes=(
                ("canção", "coração", "paixão", "emoção"),
                ("luz", "conduz", "seduz"),
                ("saudade", "cidade", "verdade", "liberdade"),
                ("mar", "luar", "sonhar", "cantar"),
            ),
            hooks=("oh oh", "vem cá", "agora"),
        ),
        "hi": Vocabulary(
            openings=(
                "हम नाचें आज",
                "दिल में है",
                "चलो साथ मेरे",
                "गाओ मेरे संग",
                "हर पल में है",
            ),
            rhymes=(
                ("प्यार", "बहार", "हज़ार बार", "इंतज़ार"),
                ("रात", "बात", "साथ", "सौगात"),
                ("आसमान", "जहान", "मुस्कान", "अरमान"),
            ),
            hooks=("ओ ओ", "आजा", "चल"),
        ),
        "ja": Vocabulary(
            openings=(
                "いっしょに うたおう",
                "そらを みあげて",
                "きみと あるいた",
                "ひかりの なかで",
                "こころが おどる",
                "ゆめを おいかけ",
            ),
            rhymes=(
                ("あした", "ひかった", "わらった", "はじまった"),
                ("そら", "ほら", "ひかりのはら"),
                ("ゆめ", "あめ", "かぜのめ"),
            ),
            hooks=("ああ", "ねえ", "さあ"),
        ),
        "ko": Vocabulary(
            openings=(
                "우리 함께 노래해",
                "하늘 아래 춤을 춰",
                "너와 나의 시간",
                "빛나는 이 밤에",
                "마음이 뛰어",
                "꿈을 따라가",
            ),
            rhymes=(
                ("사랑", "자랑", "바람", "하늘 아래 사람"),
                ("오늘", "노을", "마을"),
                ("빛", "꿈빛", "별빛"),
            ),
            hooks=("오 오", "예", "자"),
        ),
        "zh": Vocabulary(
            openings=(
                "我们 一起 唱",
                "天空 下 的",
                "跟着 我 走向",
                "心里 有 一片",
                "今天 我们 追着",
            ),
            rhymes=(
                ("光", "阳光", "远方", "希望", "飞翔"),
                ("天", "明天", "身边", "永远"),
                ("你", "天地", "一起", "奇迹"),
            ),
            hooks=("哦 哦", "来吧", "一起"),
        ),
    },
    "dark": {
        "en": Vocabulary(
            openings=(
                "shadows moving in the",
                "I keep waiting in the",
                "cold and lonely in the",
                "{X} is fading in the",
                "all the echoes of the",
                "walking slowly through the",
                "I still hear you in the",
                "lost forever in the",
                "silent voices in the",
                "holding on to the",
            ),
            rhymes=(
                ("rain", "pain", "again", "in vain", "remain"),
                ("alone", "stone", "unknown", "on my own", "gone"),
                ("dark", "spark", "leave a mark", "in the dark"),
                ("cold", "old", "stories told", "growing old"),
                ("night", "out of sight", "fading light", "no more fight"),
            ),
            hooks=("oh no", "don't go", "hold on", "let go"),
        ),
    },
}
