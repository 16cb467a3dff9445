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
// "parse" → parseCertificate(args.pem). Requests sent before `ready` wait here.

import init, {
  buildPkcs12,
  encryptPrivateKey,
  generateKeyAndCsr,
  inspectIssued,
  kubernetesSecretYaml,
  parseCertificate,
} from './pki-plugin.js';

const OPS = {
  generate: (args) => generateKeyAndCsr(args),
  inspect: (args) => inspectIssued(args),
  pkcs12: (args) => buildPkcs12(args),
  encryptKey: (args) => encryptPrivateKey(args),
  secretYaml: (args) => kubernetesSecretYaml(args),
  parse: (args) => parseCertificate(args && args.pem),
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

init().then(
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
