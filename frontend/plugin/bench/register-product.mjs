// perfanchors extension (see ../shared/bench/perfanchors/README.md): registers the product's
// key + CSR generator, the plugin served beside this file, as `product/csr/*` entries.
// `cargo xtask bench csr` copies this file next to target/dist/plugin/ and runs the driver.
// Each run is what a user's click costs: key generation (P-256/P-384/Ed25519 in WebAssembly,
// RSA by WebCrypto), CSR build + sign in WebAssembly, PEM of both CSR and PKCS#8 key.

import init, { generateKeyAndCsr } from './pki-plugin.js';

const { CN, SANS } = window.PA_UTIL;

const t0 = performance.now();
await init();
const initMs = performance.now() - t0;

const ENTRIES = [
  ['p256', 'ECDSA P-256', { keyType: 'ec', keyBits: 256 }],
  ['p384', 'ECDSA P-384', { keyType: 'ec', keyBits: 384 }],
  ['ed25519', 'Ed25519', { keyType: 'ed25519' }],
  ['rsa2048', 'RSA-2048 (WebCrypto keygen)', { keyType: 'rsa', keyBits: 2048 }],
];

for (const [id, label, key] of ENTRIES) {
  window.benchmarks.push({
    name: `product/csr/${id}`,
    group: 'csr',
    label: `PKI Console plugin ${label} key + CSR (init ${initMs.toFixed(1)} ms)`,
    budgetMs: 60000,
    fn: async () => {
      const out = await generateKeyAndCsr({ ...key, commonName: CN, dnsNames: SANS });
      return { csr: out.csrPem, key: out.privateKeyPem };
    },
  });
}
