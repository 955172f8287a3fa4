// Starts the wasm UI. An external module rather than an inline <script>, so a strict
// Content-Security-Policy (script-src 'self' 'wasm-unsafe-eval') can apply. URLs are relative to
// this file, so the UI works under any URL prefix.
import init from './frontend.js';

init();
