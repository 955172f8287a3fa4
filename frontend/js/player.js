// The session player: asciinema-player replaying a recording's asciicast v2 file. esbuild
// (backend/build.rs) bundles this into its own IIFE script, assets/player.js, defining
// `window.GatehousePlayer`, and the player's stylesheet (imported below) into assets/player.css.
// Neither is loaded with the page: the wasm UI injects both the first time a recording is played
// (src/recordings/player.rs, src/lazy.rs).
//
//   const handle = GatehousePlayer.create(element, castUrl,
//     { speed, idleTimeLimit, dark, cols, rows, onError: (status, body) => … });
//   handle.update({ speed: 2 });      // recreates the player at the current time
//   GatehousePlayer.dispose(handle);
//
// The cast is fetched once per handle from the same-origin URL (the session cookie authenticates
// it: no token in the URL) and kept, so a recreated player does not fetch it again (every fetch
// of a cast is an audited playback on the gateway). A failed fetch goes to `onError` with the
// HTTP status (0: no answer) and the body, the gateway's `{"error","code"}`.

import { create as createPlayer } from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';

// The player's built-in colour themes closest to the UI's dark and light themes.
const THEMES = { dark: 'asciinema', light: 'solarized-light' };

class Replay {
  constructor(element, castUrl, options) {
    this.element = element;
    this.castUrl = castUrl;
    this.options = { ...options };
    this.playing = false;
    this.cast = null;
    this.mount(undefined, true);
  }

  // The cast's text: fetched on first use, then kept; a failed fetch is reported and forgotten,
  // so reopening retries.
  load() {
    if (!this.cast) {
      this.cast = fetch(this.castUrl, { credentials: 'same-origin' })
        .catch((err) => {
          throw { status: 0, body: String(err) };
        })
        .then(async (response) => {
          if (!response.ok) throw { status: response.status, body: await response.text() };
          return response.text();
        });
      this.cast.catch((failure) => {
        this.cast = null;
        if (this.player) this.options.onError?.(failure.status, failure.body);
      });
    }
    return this.cast;
  }

  // Mounts a fresh player; `at` (seconds on the player's timeline, idle time already cut) seeks
  // there first. The join/leave/kick `m` events of the cast show as markers on the progress bar.
  mount(at, play) {
    const { speed, idleTimeLimit, dark, cols, rows } = this.options;
    const player = createPlayer(
      { data: () => this.load(), parser: 'asciicast' },
      this.element,
      {
        cols,
        rows,
        speed: speed || 1,
        idleTimeLimit: idleTimeLimit || undefined,
        theme: dark ? THEMES.dark : THEMES.light,
        fit: 'width',
        autoPlay: at === undefined && play,
        preload: true,
        controls: true,
        terminalFontSize: 'small',
      },
    );
    this.playing = false;
    player.addEventListener('play', () => { this.playing = true; });
    player.addEventListener('playing', () => { this.playing = true; });
    player.addEventListener('pause', () => { this.playing = false; });
    player.addEventListener('ended', () => { this.playing = false; });
    this.player = player;
    if (at !== undefined) {
      // Commands queue behind the player's own loading, so this waits for the cast.
      player.seek(at).then(() => (play ? player.play() : undefined)).catch(() => {});
    }
  }

  // Applies changed options (speed, idle time limit, theme): asciinema-player takes them only
  // at creation, so it is recreated where it was, playing if it was.
  update(options) {
    if (!this.player) return;
    const at = this.player.getCurrentTime() || 0;
    const play = this.playing;
    this.player.dispose();
    Object.assign(this.options, options);
    this.mount(at, play);
  }

  dispose() {
    if (this.player) {
      this.player.dispose();
      this.player = null;
    }
  }
}

export function create(element, castUrl, options) {
  return new Replay(element, castUrl, options || {});
}

export function dispose(handle) {
  if (handle) handle.dispose();
}
