// The plugin demo page: embeds <pki-csr-request> and logs its `csr-generated` events.
import './pki-plugin.js';

const log = document.getElementById('log');
let first = true;

document.addEventListener('csr-generated', (ev) => {
  const { csrPem, keyType, keyBits } = ev.detail;
  const line = `${new Date().toISOString()}  csr-generated  ${keyType}${keyBits ? `/${keyBits}` : ''}\n${csrPem}`;
  console.log('csr-generated', ev.detail);
  log.textContent = first ? line : `${line}\n${log.textContent}`;
  first = false;
});
