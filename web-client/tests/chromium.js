// How the browser tests start Debian's Chromium: headless, its fake microphone playing a
// speech file, audio allowed to play without a gesture.
import { chromium } from "playwright-core";

/**
 * @param {string} executablePath
 * @param {string} audio the WAV file the fake microphone plays (looped)
 */
export function launchChromium(executablePath, audio) {
  return chromium.launch({
    executablePath,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${audio}`,
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}
