"""Benchmark the offline songwriter: 50 English and 50 Chinese sheets from varied prompts.

Prints, per language: structure match, rhyming pairs, lines within 1/2 syllables of their
section's target, stray repeats, titles, distinct sheets, time per sheet; then the Festival check
(the singer's syllable counts, English) on a few sheets.

Run: ``python bench/lyrics.py [--n 50] [--festival 4]``
"""

from __future__ import annotations

import argparse
import time

from songforge.engine.songwriter import draft_lyrics
from songforge.engine.songwriter.checks import check_draft
from songforge.engine.songwriter.draft import normalize_structure

PROMPTS_EN = [
    "a summer road trip with old friends", "heartbreak in a rainy city at night",
    "an epic battle anthem for heroes", "a lullaby for a sleepy child", "dancing all night at a club",
    "missing my hometown and my family", "a lonely astronaut drifting through space",
    "falling in love on a winter evening", "angry punk song about breaking free",
    "a calm morning by the lake", "sailing across the ocean at dawn", "a ghost story in an old house",
    "chasing dreams in the big city", "saying goodbye at the train station",
    "a campfire under the stars", "spring flowers and new beginnings", "a desert highway at midnight",
    "the last dance at a wedding", "rebellion against the system", "a quiet cafe on a Sunday",
    "memories of a childhood summer", "a storm rolling over the mountains",
    "neon lights and late night taxis", "an ode to the moon", "a farewell to an old friend",
    "hope after a long dark winter", "a soldier coming home", "a cowboy riding across the prairie",
    "a party on the rooftop", "floating on a dreamy cloud", "a fire that will not go out",
    "first kiss at the carnival", "walking alone in the autumn rain", "a kingdom by the sea",
    "running through the forest", "a jazz night in New Orleans", "a letter to my younger self",
    "the sunrise after a sleepless night", "a sad piano ballad about regret",
    "a happy song about my dog", "an anthem for the underdog", "the northern lights in December",
    "a surfer waiting for the perfect wave", "a mysterious stranger in town",
    "two lovers on a midnight train", "a celebration of friendship", "lost at sea",
    "the empty room after you left", "a garden in bloom", "electric heartbeat on the dance floor",
]
PROMPTS_ZH = [
    "夏天的海边", "一个人在城市里的夜晚", "思念远方的故乡", "青春和自由", "下雨天的离别", "冬天的初雪",
    "星空下的约定", "关于梦想的歌", "失恋以后", "妈妈的厨房", "春天的花海", "深夜的地铁",
    "勇敢的战士", "舞池里的狂欢", "月光下的小巷", "秋天的落叶", "旅途中的风景", "宇宙里的孤独",
    "火焰一样的爱情", "早晨的阳光", "山谷里的溪水", "童年的回忆", "海上的灯塔", "告别的车站",
    "雨夜的街灯", "风吹过麦田", "银河的尽头", "老屋的窗台", "彩虹之后", "黎明前的黑暗",
    "a sad song about rain", "a love song under the moon", "chasing the sunset", "home for the holidays",
    "a road trip across the desert", "city lights at night", "ocean waves and summer", "an epic journey",
    "dreams of flying", "the first snow of winter", "温柔的晚风", "远方的朋友", "等待一个人",
    "街头的歌手", "最后一个夏天", "梦里的花园", "燃烧的青春", "孤独的星球", "回家的路", "自由的飞鸟",
]
STRUCTURES = [
    None, "verse,chorus,verse,chorus", "intro,verse,pre-chorus,chorus,verse,chorus,outro",
    "verse,chorus,verse,chorus,bridge,chorus", "verse,verse,chorus,inst,chorus,outro",
    "hook,verse,chorus,verse,chorus",
]


def _run(prompts: list[str], language: str) -> tuple[list, list]:
    drafts, reports = [], []
    for i, prompt in enumerate(prompts):
        structure = STRUCTURES[i % len(STRUCTURES)]
        draft = draft_lyrics(prompt, language=language, structure=structure, seed=1000 + i)
        drafts.append(draft)
        reports.append(check_draft(draft, normalize_structure(structure)))
    return drafts, reports


def _table(language: str, drafts: list, reports: list, seconds: float) -> None:
    n = len(reports)
    pairs = sum(r.rhyme_pairs for r in reports)
    rhymed = sum(r.rhymed_pairs for r in reports)
    lines = sum(r.lines for r in reports)
    texts = {d.lyrics.to_text() for d in drafts}
    rows = [
        ("sheets", f"{n}"),
        ("requested structure", f"{sum(r.structure_ok for r in reports)}/{n}"),
        ("rhyming pairs", f"{rhymed}/{pairs} = {100 * rhymed / max(1, pairs):.1f}%"),
        ("lines within +-1 syllable", f"{sum(r.lines_within_1 for r in reports)}/{lines}"),
        ("lines within +-2 syllables", f"{sum(r.lines_within_2 for r in reports)}/{lines}"),
        ("stray repeated lines", f"{sum(r.stray_repeats for r in reports)}"),
        ("with a title", f"{sum(r.has_title for r in reports)}/{n}"),
        ("distinct sheets", f"{len(texts)}/{n}"),
        ("time per sheet", f"{1000 * seconds / n:.0f} ms"),
    ]
    print(f"\n== {language} ==")
    for name, value in rows:
        print(f"  {name:<28} {value}")


def _seeds(prompt: str, language: str, k: int) -> int:
    return len({draft_lyrics(prompt, language=language, seed=s).lyrics.to_text() for s in range(k)})


def _festival(drafts: list, k: int) -> None:
    from songforge.engine.lyrics import syllabify_lines

    total = within = 0
    worst = 0
    for draft in drafts[:k]:
        for section, target in zip(draft.lyrics.sections, draft.targets, strict=True):
            if not section.lines:
                continue
            for words in syllabify_lines(list(section.lines), language="en"):
                d = abs(sum(len(w.syllables) for w in words) - target)
                total, within, worst = total + 1, within + (d <= 2), max(worst, d)
    print(f"\n== Festival (the singer's counts), {k} English sheets ==")
    print(f"  lines within +-2 syllables   {within}/{total} (worst {worst})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--festival", type=int, default=4)
    args = parser.parse_args()
    draft_lyrics("warm up", seed=0)  # load CMUdict, the sentence model and the vocabularies
    draft_lyrics("warm up", language="zh", seed=0)
    en_prompts = (PROMPTS_EN * 4)[:args.n]
    zh_prompts = (PROMPTS_ZH * 4)[:args.n]
    start = time.perf_counter()
    en = _run(en_prompts, "en")
    _table("English", *en, time.perf_counter() - start)
    start = time.perf_counter()
    zh = _run(zh_prompts, "zh")
    _table("Chinese", *zh, time.perf_counter() - start)
    print("\n== seeds ==")
    print(f"  distinct sheets over 10 seeds (en)  {_seeds('a song about the sea', 'en', 10)}/10")
    print(f"  distinct sheets over 10 seeds (zh)  {_seeds('关于大海的歌', 'zh', 10)}/10")
    if args.festival:
        _festival(en[0], args.festival)


if __name__ == "__main__":
    main()
