"""The web SDK in a real browser: headless Chromium (Debian's, driven by Playwright) whose
microphone is a WAV of Piper-voiced speech loads ``/demo``, starts a session with the demo
concierge agent, and talks to it through the whole stack: the SDK's AudioWorklet
capture -> door 1 -> Silero VAD -> PocketSphinx -> the runner -> Piper -> the SDK's
playback worklet."""

from __future__ import annotations

import shutil
import wave

import pytest
from playwright.async_api import async_playwright

from deploy.cli import _start_demo
from tests.speech_audio import silence, speech
from tests.test_speech_stt import words_right

CHROMIUM = "/usr/bin/chromium"
SAID = "please tell me your opening hours"


def fake_microphone(path, rate: int = 16000) -> str:
    """Silence, the question, then silence: what the fake microphone plays, once. The file
    starts as the device opens, before the page has wired it to the SDK's capture worklet:
    on a busy CI machine that took more than a second once, and the question lost its
    first words. A person does not speak before the page is listening; 3 s of silence
    stands for that."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(silence(3.0, rate) + speech(SAID, rate) + silence(20.0, rate))
    return str(path)


@pytest.fixture
async def chromium(tmp_path):
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: deploy/test.sh installs Debian's chromium package")
    wav = fake_microphone(tmp_path / "caller.wav")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop",
                "--autoplay-policy=no-user-gesture-required",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        await browser.close()


async def test_a_person_talks_to_the_demo_agent_from_the_demo_page(stack, chromium):
    runner, _ = await _start_demo(stack.node, {"api_key": stack.api_key, "project_id": stack.project_id}, stack.url)
    try:
        page = await chromium.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        await page.goto(f"{stack.url}/demo")
        await page.click("#start")

        # The caller's question appears as their turn, transcribed from the fake microphone.
        user_line = page.locator("#transcript li.user").first
        await user_line.wait_for(timeout=45_000)
        heard = (await user_line.text_content()).removeprefix("You: ")
        assert words_right(heard, SAID) >= 0.6, (heard, console)

        # The concierge's answer to a question about hours appears as the agent's reply...
        answer = page.locator("#transcript li.agent", has_text="nine to five")
        await answer.wait_for(timeout=20_000)
        # ...and is spoken: the playback worklet plays a second and more of audio after it.
        played_at_reply = await page.evaluate("unpodDemo.session.playedSeconds")
        await page.wait_for_function(f"unpodDemo.session.playedSeconds > {played_at_reply + 1.0}", timeout=20_000)
        assert await page.text_content("#state") in ("listening", "thinking")

        await page.click("#stop")
        await page.wait_for_function("document.getElementById('state').textContent === 'ended'", timeout=10_000)
    finally:
        await runner.shutdown()


async def test_the_demo_token_endpoint_answers_only_when_a_demo_runs_and_only_this_machine(stack):
    async with stack.http(api_key="") as http:
        r = await http.post("/demo/token")
        assert r.status_code == 404 and "unpod up --demo" in r.json()["message"]
        stack.node.demo_pipe = (stack.project_id, "pipe_demo")
        assert (await http.post("/demo/token")).status_code == 200
        # Relayed by a local proxy for another host, or asked by another site's page: no.
        assert (await http.post("/demo/token", headers={"Host": "demo.example.com"})).status_code == 404
        assert (await http.post("/demo/token", headers={"Origin": "http://evil.example"})).status_code == 404
        sdk = await http.get("/sdk/unpod-web.js")
        assert sdk.status_code == 200 and "export class UnpodSession" in sdk.text
        assert sdk.headers["content-type"].startswith("text/javascript")
