"""Reading descriptive prompts: Chinese glosses, the voice (sung or not, which singer) and tempo cues.

The planner (:mod:`songforge.engine.plan`) reads English with small lexicons. A Chinese prompt is
first *glossed*: every known Chinese phrase is replaced by its English words (``没有人声`` ->
``no vocals``, ``钢琴`` -> ``piano``, ``节奏很慢`` -> ``very slow``), so one set of rules reads both
languages. :func:`read_voice` decides whether the song is sung and by whom, with the rule the
README documents:

1. ``instrumental`` asked for in the request -> instrumental;
2. the prompt says there is no voice ("instrumental", "no vocals", "there are no voices", "nobody
   sings", "vocals removed", "karaoke", "backing track"; a negation that names a gender, "no male
   vocals", only picks the other singer) -> instrumental;
3. a voice is mentioned (sung, sings, hummed, rapped, a singer, vocalist, choir, duet, a cappella,
   falsetto ...) -> sung;
4. "no lyrics"/"without words" and no voice -> instrumental;
5. lyrics given with the request -> sung;
6. a description of the playing (two or more sentences, or 20+ words, or instruments that
   "play", "strum", "are plucked", or the work called a "piece", "beat", "score", "cue"...) that
   names instruments and no voice -> instrumental;
7. anything else ("upbeat pop song with piano") -> sung.

:func:`tempo_cues` finds tempo words anywhere in a sentence, strong ones ("slow", "brisk", "at a
leisurely pace") before mood words that imply a tempo ("relaxing" -> slow, "danceable" -> fast).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["gloss_chinese", "read_voice", "Voice", "tempo_cues", "TempoCue", "has_cjk"]

# --------------------------------------------------------------------------- Chinese glosses

# Longer phrases first where one contains another (the table is applied longest first anyway).
_ZH_GLOSS: dict[str, str] = {
    # voice and its absence
    "纯音乐": "instrumental", "纯器乐": "instrumental", "器乐曲": "instrumental piece",
    "器乐": "instrumental", "伴奏带": "backing track", "没有人声": "no vocals", "无人声": "no vocals",
    "不要人声": "no vocals", "没有人唱歌": "nobody sings", "没有人唱": "nobody sings",
    "没有歌词": "no lyrics", "无歌词": "no lyrics", "没有歌声": "no singing",
    "女歌手": "female singer", "男歌手": "male singer", "女声": "female vocals", "男声": "male vocals",
    "女生": "girl", "男生": "boy", "女孩": "girl", "男孩": "boy", "女人": "woman", "男人": "man",
    "主唱": "lead singer", "歌手": "singer", "人声": "vocals", "歌声": "singing", "嗓音": "voice",
    "哼唱": "hums", "说唱": "rap", "演唱": "sings", "唱着": "sings", "唱歌": "sings", "唱": "sings",
    "嘶吼": "screams", "合唱团": "choir", "合唱": "choir", "歌词": "lyrics", "男": "male ", "女": "female ",
    # negation and scope
    "除了": "apart from ", "没有其他乐器": "no other instruments", "没有": "no ", "不要": "no ",
    "无": "no ", "不": "not ", "只有": "only ",
    # tempo
    "速度非常快": "very fast", "非常快": "very fast", "节奏很慢": "very slow", "速度缓慢": "slow",
    "节奏缓慢": "slow", "缓慢": "slow", "快节奏": "fast", "慢节奏": "slow", "节奏明快": "brisk",
    "节奏中等": "medium tempo", "中速": "medium tempo", "中等速度": "medium tempo", "轻快": "brisk",
    "慢歌": "slow song", "快歌": "fast song", "快速": "fast", "舒缓": "relaxed", "慢": "slow",
    "快": "fast", "活泼": "lively", "欢快": "cheerful lively",
    # mood and mode
    "悲伤": "sad", "忧伤": "sad", "伤感": "sad", "哀愁": "sorrow", "孤独": "lonely", "宁静": "peaceful",
    "平静": "calm", "安静": "quiet", "放松": "relaxing", "轻松": "relaxed", "慵懒": "lazy",
    "温柔": "gentle", "轻柔": "soft", "甜蜜": "sweet", "浪漫": "romantic", "快乐": "happy",
    "开心": "happy", "积极向上": "uplifting", "充满活力": "energetic", "激情": "passionate",
    "黑暗": "dark", "紧张": "tense", "愤怒": "angry", "史诗": "epic", "气势磅礴": "majestic",
    "梦幻": "dreamy", "温暖": "warm", "治愈": "soothing", "庄严": "solemn", "深情": "heartfelt",
    "乡愁": "homesick", "派对": "party", "小调": "minor key", "大调": "major key",
    "摇篮曲": "lullaby", "情歌": "love song", "圣歌": "hymn",
    # genres
    "流行": "pop", "摇滚": "rock", "民谣": "folk", "爵士": "jazz", "电子舞曲": "edm dance music",
    "电子": "electronic", "舞曲": "dance music", "嘻哈": "hip hop", "古典": "classical",
    "乡村": "country", "重金属": "heavy metal", "金属": "metal", "雷鬼": "reggae", "拉丁": "latin",
    "蓝调": "blues", "布鲁斯": "blues", "灵魂乐": "soul", "管弦乐": "orchestral",
    # instruments
    "电钢琴": "electric piano", "钢琴曲": "piano piece", "钢琴": "piano", "失真电吉他": "distorted guitar",
    "电吉他": "electric guitar", "木吉他": "acoustic guitar", "吉他": "guitar", "贝斯": "bass",
    "低音提琴": "double bass", "重低音": "deep bass", "低音": "bass", "架子鼓": "drum kit",
    "双踩鼓": "double kick drums", "定音鼓": "timpani", "打击乐": "percussion", "鼓点": "drums",
    "鼓": "drums", "小提琴": "violin", "中提琴": "viola", "大提琴": "cello", "弦乐": "strings",
    "铜管": "brass", "小号": "trumpet", "长号": "trombone", "圆号": "french horn",
    "萨克斯风": "saxophone", "萨克斯": "saxophone", "长笛": "flute", "竹笛": "bamboo flute",
    "笛子": "flute", "二胡": "erhu", "古筝": "guzheng", "琵琶": "pipa", "合成器": "synth",
    "管风琴": "church organ", "风琴": "organ", "口琴": "harmonica", "手风琴": "accordion",
    "尤克里里": "ukulele", "竖琴": "harp", "钢片琴": "celesta", "木琴": "xylophone",
    "马林巴": "marimba", "连复段": "riff", "演奏": "played", "弹奏": "played", "吹奏": "played",
    "拨弦": "plucked", "独奏": "solo piece", "对唱": "duet", "欢乐": "joyful", "喜悦": "joyful",
    "愉快": "cheerful", "激昂": "passionate energetic", "曲子": "piece", "钢琴家": "pianist",
}
_ZH_PUNCT = {"。": ". ", "，": ", ", "、": ", ", "！": "! ", "？": "? ", "；": "; ", "：": ": ",
             "（": " (", "）": ") ", "“": " \"", "”": "\" "}
_CJK = re.compile(r"[\u3400-\u9fff]")


def has_cjk(text: str) -> bool:
    """Does ``text`` contain CJK ideographs?"""
    return bool(_CJK.search(text))


@functools.cache
def _gloss_regex() -> re.Pattern[str]:
    ordered = sorted(_ZH_GLOSS, key=len, reverse=True)
    return re.compile("|".join(re.escape(p) for p in ordered))


def gloss_chinese(text: str) -> str:
    """Replace known Chinese phrases (and full-width punctuation) with English words.

    Parameters
    ----------
    text : a prompt, in any mix of Chinese and English.

    Returns
    -------
    str
        The prompt with every phrase of the glossary replaced by its English gloss, spaced so
        the English word rules see whole words; unknown Chinese characters stay as they are.

    Examples
    --------
    >>> gloss_chinese("二胡演奏，没有人声。")
    ' erhu  sings , no vocals . '
    """
    if not has_cjk(text):
        return text
    out = _gloss_regex().sub(lambda m: f" {_ZH_GLOSS[m.group(0)]} ", text)
    for mark, plain in _ZH_PUNCT.items():
        out = out.replace(mark, f" {plain}")
    return out


# --------------------------------------------------------------------------- the voice

_VOICE_NOUNS = (r"vocals?|vox|voices?|singing|singers?|vocalists?|songstress|crooner|rappers?|"
                r"rapping|raps?|choirs?|choral|chorale|humming|hummed|chanting|chants?|"
                r"a\s+cappella|acapella|falsetto|duet|soprano|mezzo|alto|tenor|baritone|"
                r"spoken\s+word|girl\s+group|boy\s+band|mc|emcee|front(?:man|woman)|lyrics|lyric")
_VOICE_VERBS = (r"sings?|sang|sung|croons?|crooning|hums?|raps?|rapped|harmoni[sz]e[sd]?|"
                r"harmoni[sz]ing|yodels?|scats?|belts?\s+out|sing(?:s|ing)?\s+along")
_VOICE = re.compile(rf"\b(?:{_VOICE_NOUNS}|{_VOICE_VERBS})\b", re.IGNORECASE)
_NOT_A_VOICE_AFTER = re.compile(r"^\s+(?:oohs|synth|pad|patch)\b", re.IGNORECASE)
_INSTRUMENTAL = re.compile(
    r"\binstrumental\b(?!\s+(?:break|intro|outro|bridge|section|solo|passage|interlude|part|hook))"
    r"|\b(?:karaoke|backing\s+track|minus[\s-]one)\b",
    re.IGNORECASE,
)
_NOBODY = re.compile(
    r"\b(?:no\s*(?:one|body)|nobody|no\s+singer|none)\s+(?:is\s+|are\s+|ever\s+)?"
    r"(?:sings?|singing|sung|raps?|hums?|vocals?)\b"
    r"|\b(?:absence|devoid|free|lack|lacks|lacking|void)\s+(?:of\s+)?(?:any\s+)?(?:vocals?|voices?|singing|singers?)\b"
    r"|\b(?:vocals?|voices?|singing|singer)\s+(?:is|are|have\s+been|has\s+been|were|was)?\s*"
    r"(?:removed|absent|missing|omitted|muted|stripped|cut|taken\s+out)\b",
    re.IGNORECASE,
)
_WORDS_ONLY = re.compile(r"\b(?:lyrics|words|lyric)\b", re.IGNORECASE)
_STRONG_NEGATED = re.compile(
    r"\b(?:vocals?|vox|voices?|singing|singers?|vocalists?|sung|rap|rapping|humming)\b", re.IGNORECASE
)
_FEMALE = re.compile(r"\b(?:female|woman|women|girls?|girl\s+group|feminine|diva|she|her|herself|frontwoman|"
                     r"soprano|mezzo|alto|songstress|lady|ladies)\b", re.IGNORECASE)
_MALE = re.compile(r"\b(?:male|man|men|boys?|boy\s+band|masculine|he|his|himself|guy|tenor|"
                   r"baritone|crooner|frontman)\b", re.IGNORECASE)
# "tenor saxophone", "alto flute", "bass clarinet": a voice range naming an instrument's size
_RANGE_INSTRUMENT = re.compile(
    r"\b(?:soprano|alto|tenor|baritone|bass)(?=[\s-]+(?:sax\w*|recorders?|trombones?|horns?|clarinets?|"
    r"flutes?|ukuleles?|guitars?|tubas?|viols?|drums?|banjos?|oboes?)\b)", re.IGNORECASE)
_PIECE = re.compile(r"\b(?:piece|beat|score|cue|etude|étude|sonata|concerto|nocturne|prelude|"
                    r"soundscape|ambient|ambience)\b", re.IGNORECASE)
_PLAYING = re.compile(r"\b(?:plays?|played|playing|strums?|strummed|strumming|plucks?|plucked|"
                      r"picks|picked|bowed|performed\s+(?:on|by)|solo\s+(?:on|for))\b", re.IGNORECASE)
_DESCRIPTION_WORDS = 20


@dataclass(frozen=True)
class Voice:
    """What the prompt says about the voice.

    Attributes
    ----------
    instrumental : no singer.
    gender : ``"female"``, ``"male"`` or ``None`` (not said, or both).
    reasons : short notes quoting the words that decided, e.g. ``"instrumental: 'no vocals'"``.
    """

    instrumental: bool
    gender: str | None
    reasons: tuple[str, ...]


def _quote(match: re.Match[str]) -> str:
    return "'" + re.sub(r"\s+", " ", match.group(0).strip()) + "'"


def _voice_mention(text: str) -> re.Match[str] | None:
    for m in _VOICE.finditer(text):
        if not _NOT_A_VOICE_AFTER.match(text, m.end()):
            return m
    return None


def _gender(text: str, negated: str) -> tuple[str | None, str]:
    """(gender named in ``text``, the word); a gender only negated ("no male vocals") -> the other."""
    female, male = _FEMALE.search(text), _MALE.search(text)
    if female and not male:
        return "female", _quote(female)
    if male and not female:
        return "male", _quote(male)
    if not female and not male:
        neg_female, neg_male = _FEMALE.search(negated), _MALE.search(negated)
        if neg_male and not neg_female:
            return "female", f"not {_quote(neg_male)}"
        if neg_female and not neg_male:
            return "male", f"not {_quote(neg_female)}"
    return None, ""


def _negation_quote(whole: str, word: str) -> str:
    """The words that negate ``word`` in the prompt, e.g. ``'there are no voices'``."""
    m = re.search(
        rf"(?:\bthere\s+(?:is|are)\s+)?\b(?:no|without|not|nothing|zero|avoid)\b[^.,;:!?]{{0,30}}?\b{re.escape(word)}\b",
        whole, re.IGNORECASE,
    )
    return _quote(m) if m else f"'no {word.lower()}'"


def _negated_voice(negated: str) -> tuple[re.Match[str] | None, bool]:
    """(a strong "no vocals" match, whether it names a gender) in the negated text."""
    for piece in re.split(r"\s*,\s*", negated):
        m = _STRONG_NEGATED.search(piece)
        if m:
            gendered = bool(_FEMALE.search(piece) or _MALE.search(piece))
            return m, gendered
    return None, False


def _is_description(text: str, n_instruments: int) -> re.Match[str] | bool:
    if n_instruments == 0:
        return False
    sentences = [s for s in re.split(r"[.!?;\n]+", text) if len(s.split()) >= 2]
    piece = _PIECE.search(text) or _PLAYING.search(text)
    return piece or len(sentences) >= 2 or len(text.split()) >= _DESCRIPTION_WORDS


def read_voice(
    text: str, negated: str, *, whole: str, asked_instrumental: bool, has_lyrics: bool,
    n_instruments: int,
) -> Voice:
    """Decide sung or instrumental, and the singer's gender, from a prompt (rule in the module doc).

    Parameters
    ----------
    text : the prompt's positive text (negated phrases blanked out), glossed to English.
    negated : the negated phrases (and the request's ``negative_prompt``), comma separated.
    whole : the whole prompt, glossed ("nobody sings" is read there: its "no" is a negation).
    asked_instrumental : the request's ``instrumental`` flag.
    has_lyrics : the request brings its own lyrics.
    n_instruments : how many instruments the prompt names.
    """
    text, negated = _RANGE_INSTRUMENT.sub("", text), _RANGE_INSTRUMENT.sub("", negated)
    gender, gender_word = _gender(text, negated)
    g_reason = (f"gender: {gender_word} -> {gender}",) if gender else ()
    if asked_instrumental:
        return Voice(True, gender, ("instrumental: asked for",))
    said = _INSTRUMENTAL.search(text) or _NOBODY.search(whole)
    if said:
        return Voice(True, gender, (f"instrumental: {_quote(said)}",))
    neg, gendered = _negated_voice(negated)
    if neg and not gendered:
        return Voice(True, gender, (f"instrumental: {_negation_quote(whole, neg.group(0))}",))
    voice = _voice_mention(text)
    if voice:
        return Voice(False, gender, (f"sung: {_quote(voice)}", *g_reason))
    if _WORDS_ONLY.search(negated):
        return Voice(True, gender, ("instrumental: no lyrics and no voice mentioned",))
    if has_lyrics:
        return Voice(False, gender, ("sung: lyrics given", *g_reason))
    described = _is_description(text, n_instruments)
    if described:
        what = _quote(described) if isinstance(described, re.Match) else "a description"
        return Voice(True, gender, (f"instrumental: {what} of instruments, no voice mentioned",))
    return Voice(False, gender, ("sung: a song (no voice said either way)", *g_reason))


# --------------------------------------------------------------------------- tempo


@dataclass(frozen=True)
class TempoCue:
    """A tempo word found in a prompt: its felt-tempo anchor (BPM) and how strong a cue it is."""

    phrase: str
    anchor_bpm: float
    strong: bool
    position: int


# Strong tempo words beyond the planner's list: synonyms people use in descriptions.
STRONG_TEMPO_WORDS: dict[str, float] = {
    "brisk": 132.0, "briskly": 132.0, "lively": 128.0, "swift": 140.0, "frantic": 172.0,
    "frenetic": 172.0, "breakneck": 180.0, "racing": 160.0, "galloping": 150.0,
    "leisurely": 74.0, "unhurried": 72.0, "languid": 66.0, "sluggish": 66.0, "plodding": 66.0,
    "lumbering": 66.0, "crawling": 56.0, "stately": 72.0, "medium pace": 104.0,
    "moderate pace": 104.0, "walking pace": 96.0, "mid-paced": 104.0, "medium-paced": 104.0,
    "medium tempo": 104.0, "medium-tempo": 104.0, "moderately": 104.0, "relaxed pace": 76.0,
    "gentle pace": 76.0, "slow pace": 72.0, "fast pace": 148.0, "quick pace": 148.0,
    "rapid pace": 150.0, "steady pace": 104.0, "half-time": 76.0, "half time": 76.0,
    "double-time": 160.0, "double time": 160.0, "nothing is rushed": 74.0, "nothing rushed": 74.0,
}
# Mood words that imply a tempo when nothing stronger is said.
WEAK_TEMPO_WORDS: dict[str, float] = {
    **dict.fromkeys(("relaxing", "relaxed", "chill", "chilled", "calm", "calming", "mellow",
                     "soothing", "peaceful", "meditative", "sleepy", "lullaby", "laid-back",
                     "laid back", "tender", "lazy", "serene", "tranquil", "somber", "sombre", "mournful", "sorrowful", "reverent", "solemn",
                     "heartfelt", "weary", "sensual", "lonesome", "spa", "sleep", "ballad",
                     "slow jam", "homesick"), 76.0),
    **dict.fromkeys(("upbeat", "danceable", "bouncy", "energetic", "high-energy", "high energy",
                     "driving", "hype", "party", "frenzied", "aggressive", "exciting",
                     "four-on-the-floor", "four on the floor", "headbanging", "furious", "fiery",
                     "jig", "reel", "polka", "march"),
                    128.0),
}
_RELATIVE_CHANGE = re.compile(r"\b(?:gets?|getting|grows?|growing|becomes?|becoming|turns?|speeds?\s+up|"
                              r"gradually|slowly\s+(?:gets|grows|becomes))\s+(?:\w+\s+)?$", re.IGNORECASE)


def _phrase_regex(phrases: list[str]) -> re.Pattern[str]:
    ordered = sorted(set(phrases), key=len, reverse=True)
    body = "|".join(re.escape(p).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]") for p in ordered)
    return re.compile(rf"(?<![\w-])({body})(?!\w)", re.IGNORECASE)


@functools.cache
def _strong_regex(base: tuple[tuple[str, float], ...]) -> re.Pattern[str]:
    return _phrase_regex([*dict(base), *STRONG_TEMPO_WORDS])


@functools.cache
def _weak_regex() -> re.Pattern[str]:
    return _phrase_regex(list(WEAK_TEMPO_WORDS))


def _norm(text: str) -> str:
    return re.sub(r"[\s-]+", " ", text.strip().lower())


def tempo_cues(text: str, base_words: dict[str, float]) -> list[TempoCue]:
    """Tempo words in ``text`` with felt-tempo anchors, strong ones and weak (mood) ones.

    Parameters
    ----------
    text : positive prompt text (negations removed), English or glossed Chinese.
    base_words : the planner's own tempo words -> anchor BPM (relative words excluded).

    Returns
    -------
    list of TempoCue
        In order of position. Words that describe a change ("gets faster", "slowly builds") are
        not cues for the overall tempo.
    """
    base = {_norm(k): v for k, v in base_words.items()}
    strong_table = {**base, **{_norm(k): v for k, v in STRONG_TEMPO_WORDS.items()}}
    weak_table = {_norm(k): v for k, v in WEAK_TEMPO_WORDS.items()}
    cues: list[TempoCue] = []
    taken: list[tuple[int, int]] = []
    for m in _strong_regex(tuple(sorted(base.items()))).finditer(text):
        if _RELATIVE_CHANGE.search(text[: m.start()]) or _slowly_verb(text, m):
            continue
        cues.append(TempoCue(m.group(1), strong_table[_norm(m.group(1))], True, m.start()))
        taken.append(m.span())
    for m in _weak_regex().finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        cues.append(TempoCue(m.group(1), weak_table[_norm(m.group(1))], False, m.start()))
    return sorted(cues, key=lambda c: c.position)


def _slowly_verb(text: str, m: re.Match[str]) -> bool:
    """"slowly evolving", "slowly builds": a change described, unless the music itself is slow."""
    return m.group(1).lower() == "slowly" and bool(
        re.match(r"\s+(?:builds?|building|evolv\w*|fades?|fading|rises?|rising|grows?|unfolds?)\b",
                 text[m.end():], re.IGNORECASE)
    )


def tempo_verdict(cues: list[TempoCue]) -> TempoCue | None:
    """The cue that sets the tempo: strong cues first (said about the tempo itself, then the
    majority side, then the last), else the majority of the weak cues; ``None`` on a weak tie."""
    strong = [c for c in cues if c.strong]
    pool = strong or [c for c in cues if not c.strong]
    if not pool:
        return None
    slow = [c for c in pool if c.anchor_bpm < 90]
    fast = [c for c in pool if c.anchor_bpm >= 120]
    mid = [c for c in pool if 90 <= c.anchor_bpm < 120]
    sides = sorted((s for s in (slow, mid, fast) if s), key=len, reverse=True)
    if len(sides) > 1 and len(sides[0]) == len(sides[1]):
        return pool[-1] if strong else None
    return sides[0][-1]
