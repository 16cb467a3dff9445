// Types for /plugin/pki-plugin.js, PKI Console's in-browser key and CSR engine.
// Every function except the default export needs `await init()` first. Errors are
// `Error`s whose message starts with the field at fault, e.g. "commonName: ...".

/** Anything WebAssembly can be loaded from. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the WebAssembly once (later calls share the first promise). Without an argument
 * the .wasm is fetched from beside pki-plugin.js.
 */
export default function init(input?: { module_or_path: InitInput | Promise<InitInput> }): Promise<void>;

export type KeyType = 'ec' | 'ed25519' | 'rsa';

export interface GenerateOptions {
  keyType: KeyType;
  /** ec: 256 (default) or 384; rsa: 2048 (default), 3072 or 4096; ed25519: leave out (or 0). */
  keyBits?: 256 | 384 | 2048 | 3072 | 4096 | 0;
  /** Required unless a subject alternative name is given; at most 64 characters. */
  commonName?: string;
  /** DNS names; a leading `*.` wildcard is allowed, IDNs are converted to punycode. */
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emails?: string[];
  organization?: string;
  organizationalUnit?: string;
}

export interface GeneratedKeyAndCsr {
  /** "CERTIFICATE REQUEST" PEM. */
  csrPem: string;
  /** "PRIVATE KEY" (PKCS#8) PEM. It exists only in this browser. */
  privateKeyPem: string;
  /** "PUBLIC KEY" (SubjectPublicKeyInfo) PEM. */
  publicKeyPem: string;
  keyType: KeyType;
  /** Modulus or curve size; 0 for Ed25519. */
  keyBits: number;
}

/**
 * A new key pair and a CSR signed with it. EC and Ed25519 keys are generated in
 * WebAssembly; RSA keys by the browser's WebCrypto when available (pure WebAssembly
 * otherwise), the CSR is always built and signed in WebAssembly.
 */
export function generateKeyAndCsr(options: GenerateOptions): Promise<GeneratedKeyAndCsr>;

export interface CertificateInfo {
  /** Vault's format: lowercase hex pairs joined by ':'. */
  serialNumber: string;
  /** RFC 4514, e.g. "CN=app.example.com,O=Example". */
  subject: string;
  issuer: string;
  /** "" when the subject has none. */
  commonName: string;
  /** Unix seconds. */
  notBefore: number;
  /** Unix seconds. */
  notAfter: number;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emails: string[];
  isCa: boolean;
  /** "rsa", "ec", "ed25519", or the algorithm OID when unknown. */
  keyType: string;
  /** Modulus or curve size; 0 for Ed25519. */
  keyBits: number;
  /** SHA-256 of the DER, lowercase hex pairs joined by ':'. */
  sha256Fingerprint: string;
  /** Go's name, as Vault shows it: "SHA256-RSA", "ECDSA-SHA256", "Ed25519", ... */
  signatureAlgorithm: string;
  /** Vault's names: "DigitalSignature", "KeyEncipherment", "CertSign", ... */
  keyUsage: string[];
  /** Vault's names ("ServerAuth", "ClientAuth", ...), then other purposes as dotted OIDs. */
  extKeyUsage: string[];
}

/** The first certificate in `pem`, described. */
export function parseCertificate(pem: string): CertificateInfo;

export interface IssuedBundle {
  certificatePem: string;
  /** The CA chain as Vault's `ca_chain` gives it: intermediates first, the root last. An entry may hold several certificates. */
  chainPems: string[];
  privateKeyPem: string;
}

export interface InspectOptions extends IssuedBundle {
  /** When to check validity, unix seconds (e.g. `Date.now() / 1000`). */
  now: number;
}

export interface Inspection {
  certificate: CertificateInfo;
  /** The certificate carries this private key's public key. */
  keyMatches: boolean;
  /** The certificate chains through `chainPems` to its last certificate, all valid at `now`. */
  chainValid: boolean;
  /** Why the chain does not validate (absent when it does). */
  chainError?: string;
}

/** Checks an issued certificate against the key made here and its CA chain. */
export function inspectIssued(options: InspectOptions): Inspection;

export interface Pkcs12Options extends IssuedBundle {
  /** Must not be empty. */
  password: string;
  /**
   * false (default): PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, SHA-256 MAC.
   * true: pbeWithSHAAnd3-KeyTripleDES-CBC for key and certificates, SHA-1 MAC, for macOS
   * Keychain and old Java.
   */
  legacy?: boolean;
  /** Defaults to the certificate's common name. */
  friendlyName?: string;
}

/** A .p12 / .pfx file with the key, the certificate and the chain. */
export function buildPkcs12(options: Pkcs12Options): Uint8Array;

export interface EncryptKeyOptions {
  privateKeyPem: string;
  /** Must not be empty. */
  passphrase: string;
  /** PBES2/AES-256-CBC keyed by PBKDF2-HMAC-SHA256 (600,000 rounds, the default) or scrypt (N=2^14, r=8, p=1). */
  kdf?: 'pbkdf2' | 'scrypt';
}

/** The key as an "ENCRYPTED PRIVATE KEY" (PKCS#8) PEM. */
export function encryptPrivateKey(options: EncryptKeyOptions): string;

export interface SecretOptions extends IssuedBundle {
  /** A DNS-1123 subdomain (lowercase letters, digits, '-', '.'). */
  name: string;
  /** A DNS-1123 label (lowercase letters, digits, '-'). */
  namespace: string;
}

/**
 * A `kubernetes.io/tls` Secret manifest: tls.crt (leaf + intermediates), tls.key (PKCS#8)
 * and ca.crt (the root, when the chain ends in one), base64 in `data`.
 */
export function kubernetesSecretYaml(options: SecretOptions): string;

/** Detail of the `csr-generated` event `<pki-csr-request>` dispatches (bubbles, composed). */
export interface CsrGeneratedDetail {
  csrPem: string;
  keyType: KeyType;
  keyBits: number;
}

/**
 * `<pki-csr-request key-type="ec|ed25519|rsa" key-bits="256" common-name="..." dns-names="a,b" ip-addresses="...">`:
 * a form (common name, DNS names, IP addresses, key type) and a Generate button; shows the
 * CSR and offers the private key as a download. `undefined` where there is no DOM (workers).
 */
export declare class PkiCsrRequestElement extends HTMLElement {
  static readonly observedAttributes: string[];
  /** Generates from the form's current values, as the button does. */
  generate(): Promise<void>;
}
export declare const PkiCsrRequest: typeof PkiCsrRequestElement | undefined;

declare global {
  interface HTMLElementTagNameMap {
    'pki-csr-request': PkiCsrRequestElement;
  }
  interface HTMLElementEventMap {
    'csr-generated': CustomEvent<CsrGeneratedDetail>;
  }
}

/** Messages of worker.js. */
export type WorkerRequest =
  | { id: number; op: 'generate'; args: GenerateOptions }
  | { id: number; op: 'inspect'; args: InspectOptions }
  | { id: number; op: 'pkcs12'; args: Pkcs12Options }
  | { id: number; op: 'encryptKey'; args: EncryptKeyOptions }
  | { id: number; op: 'secretYaml'; args: SecretOptions }
  | { id: number; op: 'parse'; args: { pem: string } };

export type WorkerMessage =
  | { ready: true }
  | { ready: false; error: string }
  | { id: number; ok: true; result: GeneratedKeyAndCsr | Inspection | Uint8Array | string | CertificateInfo }
  | { id: number; ok: false; error: string };
