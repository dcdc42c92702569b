/**
 * What the service takes from Node's http module, read from its CommonJS exports. An ES import
 * of a built-in (`import { createServer } from 'node:http'`) builds a namespace from every export,
 * reading each, and node:http's WebSocket, CloseEvent and MessageEvent are getters that load
 * Node's bundled undici (and with it http2 and the web streams): about 13 MB of resident memory
 * for a service that opens no WebSocket and, on the embedded defaults, fetches nothing.
 * `process.getBuiltinModule` hands over the exports object without reading them
 * (docs/adr/0047-only-what-the-configuration-uses-at-start-up.md).
 */
export const { createServer, STATUS_CODES } = process.getBuiltinModule('node:http');
