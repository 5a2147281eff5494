// Which WebSocket to use: the platform's (browsers, Node 22+), else the `ws` package (Node 20).

/**
 * What the SDK needs of a WebSocket: the browser API, which `ws` implements too.
 * @typedef {object} SocketLike
 * @property {(type: string, listener: (event: any) => void) => void} addEventListener
 * @property {(code?: number, reason?: string) => void} close
 * @property {number} readyState
 */

/**
 * A WebSocket class: `new (url)` as in browsers; `ws` also takes `{ headers }`.
 * @typedef {new (url: string, options?: any) => SocketLike} SocketClass
 */

/**
 * @typedef {object} SocketFactory
 * @property {SocketClass} Socket
 * @property {boolean} sendsHeaders Whether it can send `Authorization` (else the key goes as `?token=`).
 */

/** @type {Promise<SocketFactory> | undefined} */
let wsPackage;

/**
 * The WebSocket class to open event streams with.
 * @param {SocketClass} [given] One the caller chose (`new PhonyClient({ WebSocket })`).
 * @returns {Promise<SocketFactory>}
 */
export function socketFactory(given) {
  if (given) return Promise.resolve({ Socket: given, sendsHeaders: false });
  const platform = /** @type {SocketClass | undefined} */ (globalThis.WebSocket);
  if (platform) return Promise.resolve({ Socket: platform, sendsHeaders: false });
  wsPackage ??= import('ws').then(
    (module) => ({ Socket: /** @type {SocketClass} */ (/** @type {unknown} */ (module.default)), sendsHeaders: true }),
    (error) => {
      wsPackage = undefined;
      throw new Error('no WebSocket here: install the "ws" package (npm install ws)', { cause: error });
    },
  );
  return wsPackage;
}
