// The JavaScript packages the UI uses, bundled by esbuild (backend/build.rs) into one IIFE script
// that defines `window.GatehouseVendor`. The Rust side binds these names with hand-written
// `#[wasm_bindgen]` externs (src/terminal/xterm.rs). Nothing is loaded from a CDN.
export { Terminal } from '@xterm/xterm';
export { FitAddon } from '@xterm/addon-fit';
export { SearchAddon } from '@xterm/addon-search';
export { WebLinksAddon } from '@xterm/addon-web-links';
