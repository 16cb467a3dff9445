// PKI Console's crypto worker: the plugin's WebAssembly in a module Web Worker, so key
// generation (RSA-4096 included) never freezes the page. Start it with
//   new Worker('/plugin/worker.js', { type: 'module' })
//
// Protocol:
//   worker → page   {ready: true}                      once the WebAssembly is loaded
//                   {ready: false, error}              if it could not be loaded
//   page → worker   {id, op, args}
//   worker → page   {id, ok: true, result} | {id, ok: false, error: message}
// Operations: "generate" → generateKeyAndCsr(args), "inspect" → inspectIssued(args),
// "pkcs12" → buildPkcs12(args) (a Uint8Array, its buffer transferred),
// "encryptKey" → encryptPrivateKey(args), "secretYaml" → kubernetesSecretYaml(args),
// "parse" → parseCertificate(args.pem), "checkChain" → checkChain(args). Requests sent
// before `ready` wait here.
//
// Two modules, so the page's first key costs a small download: `ready` follows the keygen
// module (`pki_keygen.js`, the plugin built without its `full` feature: keys and CSRs that
// WebCrypto makes, RSA and ECDSA). The whole plugin (`pki-plugin.js`) is loaded on first
// need: an Ed25519 key or a browser without WebCrypto (the keygen module answers null),
// and every other operation; the worker starts loading it as soon as a key is made, so
// the certificate check and the downloads seldom wait for it.

import initKeygen, { generateKeyAndCsr as generateWithWebCrypto } from './pki_keygen.js';

let plugin = null;

/** The whole plugin, loaded once (a failed load is tried again on the next call). */
function fullPlugin() {
  if (!plugin) {
    plugin = import('./pki-plugin.js')
      .then(async (m) => {
        await m.default();
        return m;
      })
      .catch((e) => {
        plugin = null;
        throw new Error(`the crypto engine failed to load: ${messageOf(e)}`);
      });
  }
  return plugin;
}

async function generate(args) {
  const made = await generateWithWebCrypto(args);
  if (made !== null && made !== undefined) {
    fullPlugin().catch(() => {}); // for what comes next; a failure is reported then
    return made;
  }
  return (await fullPlugin()).generateKeyAndCsr(args);
}

const OPS = {
  generate,
  inspect: async (args) => (await fullPlugin()).inspectIssued(args),
  pkcs12: async (args) => (await fullPlugin()).buildPkcs12(args),
  encryptKey: async (args) => (await fullPlugin()).encryptPrivateKey(args),
  secretYaml: async (args) => (await fullPlugin()).kubernetesSecretYaml(args),
  parse: async (args) => (await fullPlugin()).parseCertificate(args && args.pem),
  checkChain: async (args) => (await fullPlugin()).checkChain(args),
};

let state = 'loading'; // 'loading' | 'ready' | failure message
const waiting = [];

const messageOf = (e) => (e && typeof e.message === 'string' ? e.message : String(e));

async function answer(msg) {
  const { id, op, args } = msg && typeof msg === 'object' ? msg : {};
  if (state !== 'ready') {
    self.postMessage({ id, ok: false, error: state });
    return;
  }
  const run = Object.prototype.hasOwnProperty.call(OPS, op) ? OPS[op] : null;
  if (!run) {
    self.postMessage({ id, ok: false, error: `op: ${JSON.stringify(op)} is not one of ${Object.keys(OPS).join(', ')}` });
    return;
  }
  try {
    const result = await run(args);
    if (result instanceof Uint8Array) {
      self.postMessage({ id, ok: true, result }, [result.buffer]);
    } else {
      self.postMessage({ id, ok: true, result });
    }
  } catch (e) {
    self.postMessage({ id, ok: false, error: messageOf(e) });
  }
}

self.addEventListener('message', (ev) => {
  if (state === 'loading') waiting.push(ev.data);
  else answer(ev.data);
});

initKeygen().then(
  () => {
    state = 'ready';
    self.postMessage({ ready: true });
  },
  (e) => {
    state = `the crypto engine failed to load: ${messageOf(e)}`;
    self.postMessage({ ready: false, error: state });
  },
).then(() => {
  for (const msg of waiting.splice(0)) answer(msg);
});
