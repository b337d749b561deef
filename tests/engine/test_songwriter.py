"""The offline songwriter: structure, rhyme, meter, hooks, titles, edits, content rules, the
optional LLM endpoint (against a local fake server) and the CLI."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from songforge.engine.lyrics import parse_lyrics
from songforge.engine.songwriter import (
    LlmEndpoint,
    check_content,
    draft_lyrics,
    edit_lyrics,
    write_lyrics,
)
from songforge.engine.songwriter.checks import check_draft
from songforge.engine.songwriter.draft import DEFAULT_STRUCTURE, normalize_structure
from songforge.engine.songwriter.rhyme import rhyme_group_zh, rhyme_keys_en, syllables_en, words_of
from songforge.errors import InvalidRequest, MissingDependency, SensitiveContent

pytest.importorskip("pronouncing")
pytest.importorskip("pypinyin")

EN = ["a summer road trip with friends", "heartbreak in a rainy city", "an epic battle anthem",
      "a lullaby for the moon", "dancing all night long", "missing my hometown"]
ZH = ["夏天的海边", "一个人的夜晚", "思念远方的故乡", "青春和自由", "a sad song about rain", "冬天的初雪"]
STRUCTURES = [None, ["verse", "chorus", "verse", "chorus"], "intro,verse,pre-chorus,chorus,outro",
              ["hook", "verse", "chorus", "inst", "chorus", "bridge", "chorus"]]


@pytest.mark.parametrize("language,prompts", [("en", EN), ("zh", ZH)])
def test_sheets_keep_structure_rhyme_and_meter(language, prompts):
    for i, prompt in enumerate(prompts):
        structure = STRUCTURES[i % len(STRUCTURES)]
        draft = draft_lyrics(prompt, language=language, structure=structure, seed=i)
        report = check_draft(draft, normalize_structure(structure))
        assert report.structure_ok
        assert report.rhymed_pairs >= 0.9 * report.rhyme_pairs
        assert report.lines_within_2 == report.lines
        assert report.stray_repeats == 0
        assert report.has_title
        assert all(lang == language for s in draft.lyrics.sections for lang in s.languages)


def test_default_structure_and_repeating_hook():
    lyr = write_lyrics("a song about the sea", seed=5)
    assert tuple(s.kind for s in lyr.sections) == DEFAULT_STRUCTURE
    choruses = [s.lines for s in lyr.sections if s.kind == "chorus"]
    assert len(choruses) == 3 and choruses[0] == choruses[1] == choruses[2]
    assert choruses[0].count(choruses[0][0]) >= 2  # the hook comes back inside the chorus
    verses = [line for s in lyr.sections if s.kind == "verse" for line in s.lines]
    assert len(verses) == len(set(verses))


def test_deterministic_per_seed_and_different_across_seeds():
    a = write_lyrics("neon city nights", seed=7).to_text()
    assert a == write_lyrics("neon city nights", seed=7).to_text()
    texts = {write_lyrics("neon city nights", seed=s).to_text() for s in range(6)}
    assert len(texts) == 6
    zh = {write_lyrics("城市的夜晚", seed=s).to_text() for s in range(4)}
    assert len(zh) == 4


def test_language_from_script_and_explicit():
    assert write_lyrics("关于大海的歌", seed=1).sections[0].languages[0] == "zh"
    assert write_lyrics("a song about the sea", language="zh", seed=1).sections[0].languages[0] == "zh"
    with pytest.raises(InvalidRequest):
        write_lyrics("x", language="fr", seed=1)
    with pytest.raises(InvalidRequest):
        write_lyrics("x", structure=["verse", "kazoo"], seed=1)


def test_to_text_round_trips_and_has_title_and_tags():
    lyr = write_lyrics("a summer love song", seed=2, structure="intro,verse,chorus,solo,chorus,outro")
    again = parse_lyrics(lyr.to_text())
    assert again.sections == lyr.sections
    assert parse_lyrics(lyr.to_text(with_title=True)).title == lyr.title
    assert lyr.to_text().startswith("[Intro]\n\n[Verse]")
    parts = lyr.style_tags.split(", ")
    assert len(parts) == 3 and parts[2].endswith(("Vocals", "Instrumental"))
    assert write_lyrics("x", seed=1, title="My Own Title").title == "My Own Title"


def test_imagery_follows_the_prompt():
    text = " ".join(write_lyrics("the ocean, waves and sailing on the sea", seed=3).lines).lower()
    sea = {"ocean", "tide", "harbor", "shoreline", "lighthouse", "sea", "coastline", "horizon",
           "current", "sail", "beach", "island", "seagull", "sand", "wave", "shore", "bay", "coast"}
    assert len(sea & set(words_of(text))) >= 3


def test_english_lines_sing_with_festival_counts():
    from songforge.engine.lyrics import syllabify_lines

    for seed in (1, 2):
        draft = draft_lyrics("a rainy night in the city", seed=seed)
        for section, target in zip(draft.lyrics.sections, draft.targets, strict=True):
            if not section.lines:
                continue
            try:
                words = syllabify_lines(list(section.lines), language="en")
            except MissingDependency:
                pytest.skip("Festival is not installed")
            for line in words:
                assert abs(sum(len(w.syllables) for w in line) - target) <= 2


# --------------------------------------------------------------------------- edit mode

SHEET = """[Verse]
I walked along the empty street
The night was cold and I was free
I heard the rhythm of my feet
And every light was calling me
[Chorus]
Hold on, hold on to the night
We are burning bright
[Verse]
We drove until the morning came
And every road was just the same
[Chorus]
"""


def _end_keys(line):
    return rhyme_keys_en(words_of(line)[-1])


def test_edit_revises_keeping_structure_rhyme_sounds_and_meter():
    old = parse_lyrics(SHEET)
    new = edit_lyrics(SHEET, prompt="make it about the ocean", seed=1)
    assert [s.kind for s in new.sections] == [s.kind for s in old.sections]
    changed = 0
    for a, b in zip(old.lines, new.lines, strict=True):
        assert _end_keys(a) & _end_keys(b)
        assert abs(syllables_en(a) - syllables_en(b)) <= 2
        changed += a != b
    assert changed >= len(old.lines) // 2
    assert new.sections[1].lines == new.sections[3].lines
    assert new.title and new.style_tags
    assert edit_lyrics(SHEET, prompt="make it about the ocean", seed=1) == new


def test_edit_continues_in_the_same_scheme():
    old = parse_lyrics(SHEET)
    new = edit_lyrics(SHEET, prompt="continue the song", seed=2)
    assert new.sections[:len(old.sections)] == old.sections
    added = new.sections[len(old.sections):]
    assert [s.kind for s in added] == ["verse", "chorus"]
    verse = added[0].lines
    assert len(verse) == 4
    assert _end_keys(verse[0]) & _end_keys(verse[2]) and _end_keys(verse[1]) & _end_keys(verse[3])
    assert added[1].lines == old.sections[1].lines


def test_edit_chinese_keeps_finals():
    sheet = "[Verse]\n我在夜里想起月光\n风吹过街角吹过远方\n[Chorus]\n你是我的天堂\n"
    new = edit_lyrics(sheet, prompt="改写成关于大海的歌", seed=3)
    for a, b in zip(parse_lyrics(sheet).lines, new.lines, strict=True):
        assert rhyme_group_zh(a[-1]) == rhyme_group_zh(b[-1])
        assert abs(len(a) - len(b)) <= 2


# --------------------------------------------------------------------------- content rules


@pytest.mark.parametrize("text", ["a song about a slut", "S1UT anthem", "p0rn star", "WHORES",
                                  "做爱的歌", "a tranny joke", "blow job"])
def test_content_refuses_slurs_and_explicit_terms(text):
    with pytest.raises(SensitiveContent):
        check_content(text)


@pytest.mark.parametrize("text", ["Scunthorpe United", "the assassin's creed", "a cocktail party",
                                  "my therapist", "grapes of wrath", "Sussex and Essex", "spicy food",
                                  "class assignment", "flame retardant", "印度支那"])
def test_content_allows_innocent_words(text):
    check_content(text)


def test_content_refusal_reaches_write_and_edit_and_custom_list(tmp_path):
    with pytest.raises(SensitiveContent):
        write_lyrics("a song full of porn", seed=1)
    with pytest.raises(SensitiveContent):
        edit_lyrics("[Verse]\nyou dirty slut\n", prompt="revise", seed=1)
    custom = tmp_path / "list.txt"
    custom.write_text("# mine\nbroccoli\n")
    with pytest.raises(SensitiveContent):
        write_lyrics("a song about Broccoli", seed=1, blocklist_path=custom)
    write_lyrics("a song about porn", seed=1, blocklist_path=custom)


# --------------------------------------------------------------------------- LLM endpoint

GOOD = ("Title: Salt and Silver\n[Verse]\nThe harbor lights are low tonight\nI hear the water call my name\n"
        "[Chorus]\nSalt and silver, hold me tight\nWe will never be the same\n")


class _Fake(BaseHTTPRequestHandler):
    mode = "good"
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Fake.seen.append((self.path, self.headers.get("Authorization"), body))
        if _Fake.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        if _Fake.mode == "slow":
            time.sleep(1.0)
        content = {"good": GOOD, "slow": GOOD, "wrong": "[Verse]\nonly a verse\n",
                   "rude": GOOD.replace("call my name", "call me a slut")}[_Fake.mode]
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture()
def fake_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Fake.seen.clear()
    yield LlmEndpoint(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="tiny",
                      api_key="k", timeout_s=0.5)
    server.shutdown()
    server.server_close()


def test_llm_answer_is_used(fake_llm):
    _Fake.mode = "good"
    lyr = write_lyrics("the sea at night", structure="verse,chorus", seed=1, llm=fake_llm)
    assert lyr.title == "Salt and Silver"
    assert lyr.sections[0].lines[0] == "The harbor lights are low tonight"
    path, auth, body = _Fake.seen[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k" and body["model"] == "tiny"
    assert "[Verse] [Chorus]" in body["messages"][0]["content"]
    assert lyr.style_tags


@pytest.mark.parametrize("mode", ["error", "slow", "wrong", "rude"])
def test_llm_failure_falls_back_offline(fake_llm, mode):
    _Fake.mode = mode
    lyr = write_lyrics("the sea at night", structure="verse,chorus", seed=1, llm=fake_llm)
    offline = write_lyrics("the sea at night", structure="verse,chorus", seed=1)
    assert lyr == offline and _Fake.seen


def test_endpoint_from_settings():
    from songforge.config import Settings

    assert LlmEndpoint.from_settings(Settings()) is None
    ep = LlmEndpoint.from_settings(Settings(lyrics_llm_base_url="http://x/v1", lyrics_llm_model="m"))
    assert ep is not None and ep.model == "m" and ep.api_key is None
    assert Settings().content_blocklist_path is None


# --------------------------------------------------------------------------- CLI


def test_cli_prints_the_sheet():
    from typer.testing import CliRunner

    from songforge.cli.app import app

    result = CliRunner().invoke(app, ["lyrics", "a summer road trip", "--seed", "3", "--offline",
                                      "--structure", "verse,chorus,verse,chorus"])
    assert result.exit_code == 0, result.output
    assert "[Verse 1]" in result.output and "[Chorus 2]" in result.output
    result = CliRunner().invoke(app, ["lyrics", "夏天的海边", "--language", "zh", "--offline"])
    assert result.exit_code == 0 and "[Pre-Chorus]" in result.output


def test_songs_are_sung_to_the_operators_llm_lyrics(fake_llm):
    from songforge.engine.song import make_song
    from songforge.engine.songwriter.options import SongwriterOptions
    from songforge.models import SongRequest

    _Fake.mode = "good"
    song = make_song(SongRequest(prompt="the sea at night", duration_s=40, seed=1, format="wav"), preset="tiny",
                     songwriter=SongwriterOptions(llm=fake_llm))
    assert [line.text for line in song.lines] == [line for line in GOOD.splitlines()[1:] if not line.startswith("[")]


def test_service_passes_the_operators_songwriter_options(tmp_path):
    from songforge.config import Settings
    from songforge.service.pipeline import Pipeline

    plain = Pipeline(Settings(data_dir=tmp_path), lifecycle=_Lifecycle(), blobs=None)  # type: ignore[arg-type]
    assert plain._songwriter_options() is None
    configured = Pipeline(Settings(data_dir=tmp_path, lyrics_llm_base_url="http://127.0.0.1:9/v1",
                                   lyrics_llm_model="m"), lifecycle=_Lifecycle(), blobs=None)  # type: ignore[arg-type]
    options = configured._songwriter_options()
    assert options.llm.base_url == "http://127.0.0.1:9/v1" and options.llm.model == "m"


class _Lifecycle:
    store = None
