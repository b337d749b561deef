"""The web studio in Debian's Chromium: a real tiny-preset song made from the page, heard while it
streams, read word by word, taken apart into stems and downloaded; refusals shown where they
belong; keys kept in the browser; accessibility checked by axe-core. Screenshots of each state go
to tests/output/web/ (look at them after a change to the page)."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.api._server import REPO, LiveServer
from tests.web.conftest import Watched, watched_page

pytestmark = pytest.mark.heavy

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SONG = {"prompt": "upbeat pop song with piano", "duration_s": "20", "seed": "1"}
RUNNING_STAGES = ("Waiting in the queue", "Writing the lyrics", "Composing", "Singing", "Playing the instruments",
                  "Mixing", "Encoding")

# records every text #stage shows and the moment the <audio> element first plays
_RECORDER = """() => {
  window.__stages = [];
  const stage = document.getElementById('stage');
  new MutationObserver(() => window.__stages.push(stage.textContent))
    .observe(stage, {childList: true, characterData: true, subtree: true});
  const audio = document.getElementById('audio');
  audio.addEventListener('playing', () => {
    if (!window.__firstPlay) window.__firstPlay = {src: audio.currentSrc, stage: stage.textContent};
  });
}"""


# drops a file named reference.mp3 with the given bytes (base64) on the drop zone, as a person would
_DROP = """(data) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], 'reference.mp3', {type: 'audio/mpeg'}));
  const zone = document.getElementById('drop');
  for (const name of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(name, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``songforge serve --dev --preset tiny`` with the real engine and one worker."""
    live = LiveServer(tmp_path_factory.mktemp("studio") / "data",
                      args=("--dev", "--preset", "tiny", "--workers", "1")).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def made(browser, server):
    """The page after making a 20 s song (seed 1) from it; the song view it showed."""
    watched = watched_page(browser)
    page = watched.page
    page.goto(server.url + "/")
    page.wait_for_selector("text=Development server: no key needed.")
    watched.shot("01-start")
    page.evaluate(_RECORDER)
    for name, value in SONG.items():
        page.fill(f"#{name}", value)
    page.click("#make-song")
    page.wait_for_function("document.getElementById('progress').value > 0", timeout=60_000)
    watched.shot("02-making")
    page.wait_for_selector("#stage:has-text('Done')", timeout=120_000)
    page.wait_for_selector("#karaoke .word")
    page.wait_for_selector("#downloads a:has-text('Stems')")
    page.wait_for_function("document.getElementById('cover').complete && document.getElementById('cover').naturalWidth > 0")
    yield watched
    watched.page.context.close()


def _audio(page, what: str):
    return page.evaluate(f"document.getElementById('audio').{what}")


def test_progress_is_shown_and_the_song_plays_as_it_streams(made: Watched):
    page = made.page
    stages = page.evaluate("window.__stages")
    running = [s for s in stages if s.startswith(RUNNING_STAGES)]
    assert len({s.split(":")[0] for s in running}) >= 3, stages  # several stages, with their percentages
    assert stages[-1].startswith("Done"), stages
    first_play = page.evaluate("window.__firstPlay")
    assert first_play and first_play["src"].startswith("blob:"), first_play  # played from the stream itself
    t0 = _audio(page, "currentTime")
    page.wait_for_timeout(700)
    assert _audio(page, "currentTime") > t0 + 0.3 and not _audio(page, "paused")
    made.shot("03-done")
    made.assert_clean()


def test_the_sung_word_is_highlighted_and_a_word_click_seeks(made: Watched):
    page = made.page
    starts = page.eval_on_selector_all("#karaoke .word", "nodes => nodes.map(n => Number(n.dataset.start))")
    assert len(starts) >= 4 and starts == sorted(starts)
    page.evaluate(f"(() => {{ const a = document.getElementById('audio'); a.currentTime = {starts[0] - 0.2}; a.play(); }})()")
    page.wait_for_function("document.querySelector('#karaoke .word[aria-current]')?.dataset.index === '0'")
    page.wait_for_function("Number(document.querySelector('#karaoke .word[aria-current]')?.dataset.index) >= 2",
                           timeout=10_000)
    made.shot("04-karaoke")
    target = page.locator("#karaoke .word").nth(3)
    target.click()
    assert abs(_audio(page, "currentTime") - starts[3]) < 0.3
    assert page.get_attribute("#karaoke .word >> nth=3", "aria-current") in ("true", None)
    # keyboard: arrows move between words, Enter jumps to the focused word
    target.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.index") == "4"
    page.keyboard.press("Enter")
    assert abs(_audio(page, "currentTime") - starts[4]) < 0.3
    made.assert_clean()


def test_the_form_timeline_matches_the_plan(made: Watched, server):
    page = made.page
    plan_url = page.get_attribute("#downloads a:has-text('Plan')", "href")
    plan = httpx.get(plan_url).json()
    labels = page.eval_on_selector_all("#form-timeline button", "nodes => nodes.map(n => n.textContent.toLowerCase())")
    assert labels == [s["name"] for s in plan["sections"]]
    page.click("#form-timeline li:last-child button")
    assert abs(_audio(page, "currentTime") - plan["sections"][-1]["start_s"]) < 0.3


def test_a_muted_stem_goes_silent_while_the_others_play(made: Watched):
    page = made.page
    page.click("#load-stems")
    page.wait_for_selector("#stems-status:has-text('Stems are playing')", timeout=60_000)
    names = page.eval_on_selector_all("#stems meter", "nodes => nodes.map(n => n.dataset.stem)")
    assert "vocals" in names and len(names) >= 4
    page.evaluate("(() => { const a = document.getElementById('audio'); a.currentTime = 8; a.play(); })()")
    page.wait_for_timeout(600)
    levels = dict(zip(names, page.eval_on_selector_all("#stems meter", "nodes => nodes.map(n => n.value)"),
                      strict=True))
    loud = sorted((v, k) for k, v in levels.items() if v > 1e-3)
    assert len(loud) >= 2, levels
    muted, other = loud[-1][1], loud[-2][1]
    page.click(f"button[aria-label='Mute {muted}']")
    page.wait_for_timeout(500)
    assert page.get_attribute(f"button[aria-label='Mute {muted}']", "aria-pressed") == "true"
    after = page.eval_on_selector(f"#stems meter[data-stem='{muted}']", "n => n.value")
    still = page.eval_on_selector(f"#stems meter[data-stem='{other}']", "n => n.value")
    assert after < 1e-4 and still > 1e-3, (after, still, levels)
    assert _audio(page, "muted")  # the stems sound, the element keeps the clock
    made.shot("05-stems")
    page.click(f"button[aria-label='Solo {other}']")
    page.wait_for_timeout(500)
    soloed = dict(zip(names, page.eval_on_selector_all("#stems meter", "nodes => nodes.map(n => n.value)"),
                      strict=True))
    assert all(v < 1e-4 for k, v in soloed.items() if k != other) and soloed[other] > 1e-3, soloed
    made.assert_clean()


def test_the_midi_and_the_stems_download(made: Watched):
    page = made.page
    with page.expect_download() as midi:
        page.click("#downloads a:text-is('MIDI')")
    assert Path(midi.value.path()).read_bytes().startswith(b"MThd")
    with page.expect_download() as stems:
        page.click("#downloads a:has-text('Stems')")
    archive = zipfile.ZipFile(io.BytesIO(Path(stems.value.path()).read_bytes()))
    names = page.eval_on_selector_all("#stems meter", "nodes => nodes.map(n => n.dataset.stem + '.wav')")
    assert sorted(archive.namelist()) == sorted(names)
    assert all(archive.read(n)[:4] == b"RIFF" for n in archive.namelist())
    hrefs = page.eval_on_selector_all("#downloads a", "nodes => nodes.map(n => n.textContent)")
    assert {"Audio (MP3)", "MIDI", "Lyrics timings (JSON)", "Lyrics (LRC)", "Plan (JSON)"} <= set(hrefs)
    made.assert_clean()


def test_the_page_passes_axe_and_works_at_phone_width(made: Watched):
    page = made.page
    assert _axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    made.shot("06-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_variation_asks_for_the_next_seed_and_can_be_cancelled(made: Watched):
    page = made.page
    page.evaluate("document.getElementById('audio').pause()")
    with page.expect_request(lambda r: r.url.endswith("/v1/songs") and r.method == "POST") as request:
        page.click("#variation")
    body = json.loads(request.value.post_data)
    assert body["seed"] == 2 and body["prompt"] == SONG["prompt"] and body["duration_s"] == 20
    assert page.input_value("#seed") == "2"
    page.wait_for_selector("#cancel:visible")
    page.click("#cancel")
    page.wait_for_selector("#stage:has-text('not made')")
    assert "cancel" in page.text_content("#stage")
    page.wait_for_selector("#history li:first-child:has-text('cancelled')")
    assert page.locator("#history li").count() == 2
    made.assert_clean()


def test_a_finished_song_opens_from_the_history(made: Watched):
    page = made.page
    page.click("#history li:has-text('succeeded') button")
    page.wait_for_function("document.activeElement.id === 'song'")  # focus moves to the song once it is shown
    assert "/files/" in _audio(page, "currentSrc") and page.locator("#karaoke .word").count() > 0
    assert page.text_content("#song-title") == page.text_content("#history li:has-text('succeeded') strong")
    assert page.is_visible("#variation") and page.is_hidden("#progress-box")
    made.assert_clean()


def _axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


def test_an_invalid_request_shows_the_apis_message_next_to_the_field(browser, server):
    watched = watched_page(browser)
    page = watched.page
    page.goto(server.url + "/")
    page.focus("#duration_s")  # by keyboard: type, then Enter submits the form
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    page.wait_for_selector("#duration_s-error:not(:empty)")
    api = httpx.post(server.url + "/v1/songs", json={"prompt": page.input_value("#prompt"), "duration_s": 5})
    assert api.status_code == 400 and page.text_content("#duration_s-error") == api.json()["error"]["message"]
    assert page.get_attribute("#duration_s", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "duration_s"
    assert page.text_content("#form-error") == ""
    watched.shot("07-invalid")
    assert _axe_violations(page) == []
    watched.assert_clean(allowed_statuses=(400,))
    page.context.close()


def test_write_lyrics_fills_the_editor_with_structure_tags(browser, server):
    watched = watched_page(browser)
    page = watched.page
    page.goto(server.url + "/")
    page.fill("#prompt", "a hopeful folk song about the sea at dawn")
    page.click("#write-lyrics")
    page.wait_for_selector("#write-status:has-text('Lyrics written')", timeout=60_000)
    lyrics = page.input_value("#lyrics")
    assert "[Verse" in lyrics or "[Chorus" in lyrics, lyrics
    assert len([line for line in lyrics.splitlines() if line and not line.startswith("[")]) >= 4
    page.click("#lyrics")
    page.keyboard.press("Control+End")
    page.click("#tag-bar button:text-is('[Bridge]')")
    assert page.input_value("#lyrics").rstrip().endswith("[Bridge]")
    watched.shot("08-lyrics")
    watched.assert_clean()
    page.context.close()


def test_a_key_is_asked_for_kept_in_the_browser_and_required(browser, tmp_path):
    data_dir = tmp_path / "data"
    created = subprocess.run([sys.executable, "-m", "songforge", "keys", "create", "--name", "web", "--data-dir",
                              str(data_dir)], cwd=REPO, capture_output=True, text=True, check=True,
                             env={**LiveServer(data_dir).env})
    key = created.stdout.strip().splitlines()[-1]
    live = LiveServer(data_dir).start()
    watched = watched_page(browser)
    page = watched.page
    try:
        page.goto(live.url + "/")
        page.wait_for_selector("#key-form:visible")
        assert "needs an API key" in page.text_content("#key-status")
        page.fill("#api-key", "sf_not_a_key")
        page.click("#key-form button[type=submit]")
        page.wait_for_function("!document.getElementById('key-status').textContent.includes('needs an API key')")
        assert "Using" not in page.text_content("#key-status") and page.is_visible("#key-form")
        page.fill("#api-key", key)
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#key-status:has-text('Using your saved key')")
        assert page.is_hidden("#key-form") and page.is_visible("#forget-key")
        page.wait_for_selector("#history-status:has-text('No songs yet')")
        assert page.evaluate("localStorage.getItem('songforge.apiKey')") == key
        watched.shot("09-key")
        page.click("#forget-key")
        assert page.evaluate("localStorage.getItem('songforge.apiKey')") is None and page.is_visible("#key-form")
        watched.assert_clean(allowed_statuses=(401,))
    finally:
        page.context.close()
        live.stop()


def test_reference_audio_gets_new_vocals_through_the_upload_routes(browser, server, made: Watched, tmp_path):
    reference = tmp_path / "reference.mp3"
    reference.write_bytes(httpx.get(made.page.get_attribute("#downloads a:has-text('Audio')", "href")).content)
    watched = watched_page(browser)
    page = watched.page
    try:
        page.goto(server.url + "/")
        page.evaluate(_DROP, base64.b64encode(reference.read_bytes()).decode())  # dropped on the drop zone
        assert "reference.mp3" in page.text_content("#ref-name")
        page.select_option("#ref-mode", "add_vocals")
        page.fill("#title", "Over the Top")
        page.fill("#lyrics", "[Verse]\nHello there my friend\nWe sing until the end")
        page.click("#make-song")
        page.wait_for_selector("#stage:has-text('Done')", timeout=120_000)
        page.wait_for_selector("#karaoke .word")
        words = page.eval_on_selector_all("#karaoke .word", "nodes => nodes.map(n => n.textContent)")
        assert " ".join(words) == "Hello there my friend We sing until the end"
        assert page.is_hidden("#variation")  # the vendor route picks its own seeds
        watched.shot("10-reference")
        watched.assert_clean()
    finally:
        page.context.close()
        for song in httpx.get(server.url + "/v1/songs").json()["songs"]:  # the task's second take
            if song["status"] in ("queued", "running", "first_ready"):
                httpx.delete(server.url + song["links"]["self"])
