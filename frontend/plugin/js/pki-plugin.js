// PKI Console plugin: private keys and certificate signing requests made in the browser.
// The key never leaves the page: nothing here talks to a server (the only fetch is the
// plugin's own .wasm, from beside this file).
//
//   import init, { generateKeyAndCsr } from '/plugin/pki-plugin.js';
//   await init();
//   const { csrPem, privateKeyPem } = await generateKeyAndCsr({ keyType: 'ec', commonName: 'app.example.com' });
//
// Importing this module also defines <pki-csr-request>, a small form that does the same for
// a person and dispatches `csr-generated` ({detail: {csrPem, keyType, keyBits}}).
// Types: pki-plugin.d.ts. Off the main thread: worker.js.

import wasmInit, {
  buildPkcs12,
  checkChain,
  encryptPrivateKey,
  generateKeyAndCsr,
  inspectIssued,
  kubernetesSecretYaml,
  parseCertificate,
} from './pki_plugin.js';

let loading = null;

/**
 * Loads and instantiates the WebAssembly once (later calls share the first promise; a
 * failed load may be retried). Without an argument the .wasm is fetched from beside this
 * module; pass `{module_or_path}` (a URL, Response, BufferSource or WebAssembly.Module)
 * to load it from elsewhere.
 */
export default function init(input) {
  if (!loading) {
    loading = wasmInit(input).then(
      () => undefined,
      (e) => {
        loading = null;
        throw e;
      },
    );
  }
  return loading;
}

export { buildPkcs12, checkChain, encryptPrivateKey, generateKeyAndCsr, inspectIssued, kubernetesSecretYaml, parseCertificate };

// ------------------------------------------------------------------ <pki-csr-request>

const KEY_CHOICES = [
  ['ec:256', 'ECDSA P-256 (recommended)'],
  ['ec:384', 'ECDSA P-384'],
  ['ed25519:0', 'Ed25519'],
  ['rsa:2048', 'RSA 2048'],
  ['rsa:3072', 'RSA 3072'],
  ['rsa:4096', 'RSA 4096'],
];

const CSS = `
:host { display: block; font: inherit; color: inherit; max-width: 42rem; }
:host([hidden]) { display: none; }
form { display: grid; gap: 0.35rem 1rem; grid-template-columns: minmax(8rem, max-content) 1fr; align-items: center; }
label { font-weight: 600; }
.hint { grid-column: 2; font-size: 0.85em; opacity: 0.8; margin: -0.2rem 0 0.3rem; }
input, select, textarea, button { font: inherit; }
input, select { padding: 0.3rem 0.4rem; }
.actions { grid-column: 1 / -1; display: flex; gap: 0.75rem; align-items: center; margin-top: 0.5rem; }
button { padding: 0.45rem 0.9rem; cursor: pointer; }
button[disabled] { cursor: progress; opacity: 0.7; }
.error { color: #b00020; margin: 0.5rem 0 0; }
.result { margin-top: 1rem; }
.result label { display: block; margin-bottom: 0.25rem; }
textarea { width: 100%; box-sizing: border-box; font-family: ui-monospace, monospace; font-size: 0.85em; }
.note { font-size: 0.9em; }
`;

let sheet = null;
function styles() {
  if (sheet === null) {
    try {
      // A constructed stylesheet is not inline markup: CSP `default-src 'self'` allows it.
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    } catch {
      sheet = undefined;
    }
  }
  return sheet;
}

const TEMPLATE = `
<form novalidate aria-describedby="status">
  <label for="cn">Common name</label>
  <input id="cn" name="commonName" autocomplete="off" autocapitalize="off" spellcheck="false">
  <label for="dns">DNS names</label>
  <input id="dns" name="dnsNames" autocomplete="off" autocapitalize="off" spellcheck="false" aria-describedby="dns-hint">
  <p class="hint" id="dns-hint">Separate several with commas or spaces.</p>
  <label for="ips">IP addresses</label>
  <input id="ips" name="ipAddresses" autocomplete="off" spellcheck="false" aria-describedby="ips-hint">
  <p class="hint" id="ips-hint">Optional. Separate several with commas or spaces.</p>
  <label for="key">Key type</label>
  <select id="key" name="key"></select>
  <div class="actions">
    <button type="submit" id="generate">Generate key and CSR</button>
    <span id="status" role="status" aria-live="polite"></span>
  </div>
  <p class="error" id="error" role="alert" hidden></p>
</form>
<section class="result" id="result" hidden aria-labelledby="csr-label">
  <label id="csr-label" for="csr">Certificate signing request (PEM)</label>
  <textarea id="csr" readonly rows="14" spellcheck="false"></textarea>
  <p class="note"><a id="download" href="#" download="private-key.pem">Download the private key</a>
    — it was made in this browser and exists nowhere else: save it before you leave the page.</p>
</section>
`;

function splitList(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

function fileStem(name) {
  const stem = name.toLowerCase().replace(/^\*\./, 'wildcard.').replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return stem || 'private-key';
}

// The element exists only where there is a DOM: worker.js imports this module too.
export const PkiCsrRequest = typeof HTMLElement === 'undefined' ? undefined : class PkiCsrRequest extends HTMLElement {
  static get observedAttributes() {
    return ['key-type', 'key-bits', 'common-name', 'dns-names', 'ip-addresses'];
  }

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const css = styles();
    if (css) root.adoptedStyleSheets = [css];
    const t = document.createElement('template');
    t.innerHTML = TEMPLATE;
    root.append(t.content.cloneNode(true));
    this._el = (id) => root.getElementById(id);
    const select = this._el('key');
    for (const [value, label] of KEY_CHOICES) select.append(new Option(label, value));
    this._keyUrl = null;
    this._busy = false;
    this._el('generate').closest('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.generate();
    });
  }

  connectedCallback() {
    for (const name of PkiCsrRequest.observedAttributes) this._apply(name, this.getAttribute(name));
    // Fetch and compile the WebAssembly early, so the first click is quick.
    init().catch((e) => this._showError(`The crypto engine failed to load: ${e && e.message ? e.message : e}`));
  }

  disconnectedCallback() {
    this._revokeKeyUrl();
  }

  attributeChangedCallback(name, _old, value) {
    this._apply(name, value);
  }

  _apply(name, value) {
    if (value === null) return;
    const input = { 'common-name': 'cn', 'dns-names': 'dns', 'ip-addresses': 'ips' }[name];
    if (input) {
      this._el(input).value = value;
      return;
    }
    // key-type and key-bits pick one of the select's options together.
    const select = this._el('key');
    const type = this.getAttribute('key-type') || select.value.split(':')[0];
    const bits = this.getAttribute('key-bits');
    const options = [...select.options];
    const match =
      (bits && options.find((o) => o.value === `${type}:${bits}`)) ||
      options.find((o) => o.value.startsWith(`${type}:`));
    if (match) select.value = match.value;
  }

  _revokeKeyUrl() {
    if (this._keyUrl) {
      URL.revokeObjectURL(this._keyUrl);
      this._keyUrl = null;
    }
  }

  _showError(message) {
    const error = this._el('error');
    error.textContent = message;
    error.hidden = !message;
  }

  _setBusy(busy, text) {
    this._busy = busy;
    const button = this._el('generate');
    button.disabled = busy;
    button.textContent = busy ? 'Generating…' : 'Generate key and CSR';
    button.closest('form').setAttribute('aria-busy', String(busy));
    this._el('status').textContent = text;
  }

  /** Generates a key and CSR from the form's current values (what the button does). */
  async generate() {
    if (this._busy) return;
    const [keyType, bits] = this._el('key').value.split(':');
    const keyBits = Number(bits);
    const commonName = this._el('cn').value.trim();
    const options = {
      keyType,
      commonName,
      dnsNames: splitList(this._el('dns').value),
      ipAddresses: splitList(this._el('ips').value),
    };
    if (keyType !== 'ed25519') options.keyBits = keyBits;
    this._showError('');
    const label = this._el('key').selectedOptions[0]?.textContent.replace(/ \(.*\)$/, '') ?? keyType;
    this._setBusy(true, `Generating a ${label} key in this browser…`);
    try {
      await init();
      const out = await generateKeyAndCsr(options);
      this._el('csr').value = out.csrPem;
      this._revokeKeyUrl();
      this._keyUrl = URL.createObjectURL(new Blob([out.privateKeyPem], { type: 'application/x-pem-file' }));
      const link = this._el('download');
      link.href = this._keyUrl;
      link.download = `${fileStem(commonName || options.dnsNames[0] || '')}.key.pem`;
      this._el('result').hidden = false;
      this._setBusy(false, 'Done: the CSR is below. Download the private key now.');
      this.dispatchEvent(
        new CustomEvent('csr-generated', {
          detail: { csrPem: out.csrPem, keyType: out.keyType, keyBits: out.keyBits },
          bubbles: true,
          composed: true,
        }),
      );
    } catch (e) {
      this._setBusy(false, '');
      this._showError(e && e.message ? e.message : String(e));
    }
  }
};

if (PkiCsrRequest && typeof customElements !== 'undefined' && !customElements.get('pki-csr-request')) {
  customElements.define('pki-csr-request', PkiCsrRequest);
}
