//! Install steps for a CA root, one set per platform (OS trust stores, browsers, language
//! runtimes, tools, Kubernetes), with the commands filled in with the console's own
//! download URLs; and which platform a user agent is on, so the page opens that tab.

use super::FileKind;

/// A platform with its own way of trusting a CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Debian,
    Rhel,
    Alpine,
    MacOs,
    Windows,
    Firefox,
    Chrome,
    Java,
    Node,
    Python,
    Curl,
    Go,
    Docker,
    Kubernetes,
}

impl Platform {
    /// Every platform, in tab order.
    pub const ALL: [Platform; 14] = [
        Platform::Debian,
        Platform::Rhel,
        Platform::Alpine,
        Platform::MacOs,
        Platform::Windows,
        Platform::Firefox,
        Platform::Chrome,
        Platform::Java,
        Platform::Node,
        Platform::Python,
        Platform::Curl,
        Platform::Go,
        Platform::Docker,
        Platform::Kubernetes,
    ];

    /// A stable id (element ids, test hooks).
    pub fn id(self) -> &'static str {
        match self {
            Platform::Debian => "debian",
            Platform::Rhel => "rhel",
            Platform::Alpine => "alpine",
            Platform::MacOs => "macos",
            Platform::Windows => "windows",
            Platform::Firefox => "firefox",
            Platform::Chrome => "chrome",
            Platform::Java => "java",
            Platform::Node => "node",
            Platform::Python => "python",
            Platform::Curl => "curl",
            Platform::Go => "go",
            Platform::Docker => "docker",
            Platform::Kubernetes => "kubernetes",
        }
    }

    /// The tab's label.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Debian => "Debian / Ubuntu",
            Platform::Rhel => "RHEL / Fedora",
            Platform::Alpine => "Alpine",
            Platform::MacOs => "macOS",
            Platform::Windows => "Windows",
            Platform::Firefox => "Firefox",
            Platform::Chrome => "Chrome / Edge",
            Platform::Java => "Java",
            Platform::Node => "Node.js",
            Platform::Python => "Python",
            Platform::Curl => "curl",
            Platform::Go => "Go",
            Platform::Docker => "Docker",
            Platform::Kubernetes => "Kubernetes",
        }
    }

    /// The platform a visitor's browser runs on, from its `User-Agent`: Windows, macOS,
    /// Fedora/Red Hat, other Linux (Debian/Ubuntu's steps), else Debian's.
    pub fn from_user_agent(ua: &str) -> Platform {
        let ua = ua.to_ascii_lowercase();
        if ua.contains("windows") {
            Platform::Windows
        } else if ua.contains("iphone") || ua.contains("ipad") {
            // iOS installs profiles, not commands; macOS's steps are the nearest.
            Platform::MacOs
        } else if ua.contains("mac os x") || ua.contains("macintosh") {
            Platform::MacOs
        } else if ua.contains("fedora") || ua.contains("red hat") || ua.contains("centos") {
            Platform::Rhel
        } else if ua.contains("alpine") {
            Platform::Alpine
        } else {
            Platform::Debian
        }
    }
}

/// The URLs and names the steps are written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallFiles {
    /// Absolute URL of the root, PEM.
    pub root_pem_url: String,
    /// Absolute URL of the root, DER.
    pub root_der_url: String,
    /// Absolute URL of the full chain, PEM.
    pub chain_pem_url: String,
    /// Slug for file names and Kubernetes object names (`testlab-local-root-ca`).
    pub name: String,
    /// The root certificate's PEM (for inline YAML).
    pub root_pem: String,
}

/// One step: words, and a command or file to copy when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub text: String,
    pub command: Option<String>,
}

fn say(text: &str) -> Step {
    Step {
        text: text.to_string(),
        command: None,
    }
}

fn run(text: &str, command: String) -> Step {
    Step {
        text: text.to_string(),
        command: Some(command),
    }
}

/// The file a platform's steps install.
pub fn file_for(platform: Platform) -> FileKind {
    match platform {
        Platform::Windows => FileKind::RootDer,
        _ => FileKind::RootPem,
    }
}

/// The install steps for `platform`.
pub fn steps(platform: Platform, f: &InstallFiles) -> Vec<Step> {
    let InstallFiles {
        root_pem_url: pem,
        root_der_url: der,
        chain_pem_url: chain,
        name,
        root_pem,
    } = f;
    match platform {
        Platform::Debian => vec![
            run(
                "Save the root, PEM, as a .crt file in the local CA directory (update-ca-certificates only reads *.crt files there):",
                format!("sudo curl -fsSL -o /usr/local/share/ca-certificates/{name}.crt {pem}"),
            ),
            run(
                "Rebuild the system store (/etc/ssl/certs and its bundle ca-certificates.crt):",
                "sudo update-ca-certificates".into(),
            ),
            say("It reports the certificate as added. Programs that read the system store (curl, wget, OpenSSL, Go, apt) now trust the CA; see the other tabs for browsers and runtimes with their own store."),
        ],
        Platform::Rhel => vec![
            run(
                "Save the root, PEM, among the trust anchors:",
                format!("sudo curl -fsSL -o /etc/pki/ca-trust/source/anchors/{name}.pem {pem}"),
            ),
            run("Rebuild the extracted stores:", "sudo update-ca-trust extract".into()),
        ],
        Platform::Alpine => vec![
            run("Install the store's tools:", "apk add --no-cache ca-certificates".into()),
            run(
                "Save the root, PEM, as a .crt file:",
                format!("wget -O /usr/local/share/ca-certificates/{name}.crt {pem}"),
            ),
            run("Rebuild /etc/ssl/certs:", "update-ca-certificates".into()),
        ],
        Platform::MacOs => vec![
            run("Download the root:", format!("curl -fsSLo {name}.root.pem {pem}")),
            run(
                "Add it to the System keychain as a trusted root (asks for your password):",
                format!(
                    "sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {name}.root.pem"
                ),
            ),
            say("Or in Keychain Access: drag the file into the System keychain, open it, and under Trust set \"When using this certificate\" to Always Trust. Safari and Chrome use this store."),
        ],
        Platform::Windows => vec![
            run(
                "In PowerShell, download the root (DER, .crt):",
                format!("Invoke-WebRequest -Uri {der} -OutFile {name}.root.crt"),
            ),
            run(
                "In a prompt run as administrator, add it to the machine's Trusted Root Certification Authorities:",
                format!("certutil -addstore -f Root {name}.root.crt"),
            ),
            say("Or with the mouse: double-click the .crt file, Install Certificate…, Local Machine, \"Place all certificates in the following store\", Browse…, Trusted Root Certification Authorities, Finish. Edge and Chrome use this store."),
        ],
        Platform::Firefox => vec![
            say("Firefox keeps its own list of CAs. Download the root (PEM) from this page, then: Settings, Privacy & Security, Certificates, View Certificates…, Authorities, Import…, pick the file and tick \"Trust this CA to identify websites\"."),
            run(
                "For every profile on a machine, an enterprise policy installs it (Linux: /etc/firefox/policies/policies.json; macOS: Firefox.app/Contents/Resources/distribution/policies.json; Windows: the distribution folder beside firefox.exe):",
                format!(
                    "{{\n  \"policies\": {{\n    \"Certificates\": {{\n      \"ImportEnterpriseRoots\": true,\n      \"Install\": [\"/usr/local/share/ca-certificates/{name}.crt\"]\n    }}\n  }}\n}}"
                ),
            ),
            say("ImportEnterpriseRoots makes Firefox on Windows and macOS also trust the roots installed in the OS store."),
        ],
        Platform::Chrome => vec![
            say("Windows and macOS: Chrome and Edge trust the roots in the OS store. Follow the Windows or macOS tab, then restart the browser."),
            run(
                "Linux: Chrome and Edge read the NSS database in your home directory (certutil is in libnss3-tools / nss-tools):",
                format!(
                    "curl -fsSLo {name}.root.pem {pem}\ncertutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n \"{name}\" -i {name}.root.pem"
                ),
            ),
            say("Or in the browser: Settings, Privacy and security, Security, Manage certificates, Authorities (Linux) or \"Installed by you\", Import."),
        ],
        Platform::Java => vec![
            run("Download the root:", format!("curl -fsSLo {name}.root.pem {pem}")),
            run(
                "Import it into the JDK's cacerts (the default password is changeit):",
                format!(
                    "keytool -importcert -noprompt -cacerts -storepass changeit -alias {name} -file {name}.root.pem"
                ),
            ),
            say("Or into a truststore of your own, passed with -Djavax.net.ssl.trustStore=…: keytool -importcert -keystore truststore.p12 -storetype PKCS12 …"),
        ],
        Platform::Node => vec![
            run("Download the root:", format!("curl -fsSLo {name}.root.pem {pem}")),
            run(
                "Node adds the file's CAs to its built-in list when it starts:",
                format!("export NODE_EXTRA_CA_CERTS=\"$PWD/{name}.root.pem\"\nnode app.js"),
            ),
        ],
        Platform::Python => vec![
            say("requests uses certifi's bundle, not the OS store; the ssl module uses OpenSSL's default file."),
            run(
                "After the OS steps (Debian tab), point both at the system bundle:",
                "export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\nexport SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".into(),
            ),
            run(
                "Or without touching the OS, a bundle of certifi's CAs and this root:",
                format!(
                    "curl -fsSLo {name}.root.pem {pem}\ncat \"$(python3 -m certifi)\" {name}.root.pem > ca-bundle.pem\nexport REQUESTS_CA_BUNDLE=\"$PWD/ca-bundle.pem\" SSL_CERT_FILE=\"$PWD/ca-bundle.pem\""
                ),
            ),
        ],
        Platform::Curl => vec![
            say("curl uses the OS store: after the Debian, RHEL, Alpine, macOS or Windows steps it needs nothing more."),
            run(
                "For one command, or a store of your own:",
                format!(
                    "curl -fsSLo {name}.chain.pem {chain}\ncurl --cacert {name}.chain.pem https://internal.example/\nexport CURL_CA_BUNDLE=\"$PWD/{name}.chain.pem\""
                ),
            ),
        ],
        Platform::Go => vec![
            say("Go reads the OS store (on Linux /etc/ssl/certs/ca-certificates.crt and friends): after the OS steps, nothing more."),
            run(
                "On Linux and the BSDs, another file or directory can stand in for it:",
                format!(
                    "curl -fsSLo {name}.root.pem {pem}\nSSL_CERT_FILE=\"$PWD/{name}.root.pem\" ./your-program"
                ),
            ),
        ],
        Platform::Docker => vec![
            run(
                "To pull from a registry this CA serves, give the daemon the root for that registry (host and port as you pull; no restart needed):",
                format!(
                    "sudo mkdir -p /etc/docker/certs.d/registry.example:5000\nsudo curl -fsSL -o /etc/docker/certs.d/registry.example:5000/ca.crt {pem}"
                ),
            ),
            run(
                "Inside an image (Debian-based), install it into the image's store:",
                format!(
                    "ADD {pem} /usr/local/share/ca-certificates/{name}.crt\nRUN chmod 644 /usr/local/share/ca-certificates/{name}.crt && update-ca-certificates"
                ),
            ),
        ],
        Platform::Kubernetes => vec![
            run(
                "With cert-manager's trust-manager, a Bundle (cluster-scoped) copies the root into a ConfigMap in every namespace:",
                format!(
                    "apiVersion: trust.cert-manager.io/v1alpha1\nkind: Bundle\nmetadata:\n  name: {name}\nspec:\n  sources:\n    - useDefaultCAs: false\n    - inLine: |\n{}\n  target:\n    configMap:\n      key: ca.crt",
                    indent(root_pem, 8)
                ),
            ),
            run(
                "Or take the root from a ConfigMap in trust-manager's namespace (cert-manager by default): create it, and name it as the Bundle's source instead of inLine:",
                format!(
                    "kubectl -n cert-manager create configmap {name} --from-file=ca.crt=<(curl -fsSL {pem})\n\n  sources:\n    - configMap:\n        name: {name}\n        key: ca.crt"
                ),
            ),
            run(
                "Without trust-manager, a plain ConfigMap in your namespace, mounted where the image's tools look (e.g. /etc/ssl/certs/{name}.pem, or set SSL_CERT_FILE):",
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  ca.crt: |\n{}",
                    indent(root_pem, 4)
                ),
            ),
        ],
    }
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.trim_end()
        .lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> InstallFiles {
        InstallFiles {
            root_pem_url: "https://c.example/ca/pki/default/root.pem".into(),
            root_der_url: "https://c.example/ca/pki/default/root.crt".into(),
            chain_pem_url: "https://c.example/ca/pki_int/default/chain.pem".into(),
            name: "testlab-root-ca".into(),
            root_pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
        }
    }

    #[test]
    fn user_agents_pick_their_platform() {
        for (ua, want) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36 Edg/120",
                Platform::Windows,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
                Platform::MacOs,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120 Safari/537.36",
                Platform::Debian,
            ),
            (
                "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
                Platform::Rhel,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Safari",
                Platform::MacOs,
            ),
            ("", Platform::Debian),
        ] {
            assert_eq!(Platform::from_user_agent(ua), want, "{ua}");
        }
    }

    #[test]
    fn every_platform_has_steps_with_the_urls() {
        let f = files();
        for p in Platform::ALL {
            let steps = steps(p, &f);
            assert!(!steps.is_empty(), "{p:?}");
            assert!(steps.iter().any(|s| s.command.is_some()), "{p:?}");
            assert!(
                steps
                    .iter()
                    .filter_map(|s| s.command.as_deref())
                    .all(|c| !c.contains("{name}") && !c.contains("{pem}")),
                "{p:?}: an unfilled placeholder"
            );
        }
        let ids: std::collections::BTreeSet<_> = Platform::ALL.iter().map(|p| p.id()).collect();
        assert_eq!(ids.len(), Platform::ALL.len());
    }

    #[test]
    fn the_commands_people_look_for_are_there() {
        let f = files();
        let text = |p| {
            steps(p, &f)
                .into_iter()
                .filter_map(|s| s.command)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let debian = text(Platform::Debian);
        assert!(debian.contains(
            "-o /usr/local/share/ca-certificates/testlab-root-ca.crt https://c.example/ca/pki/default/root.pem"
        ));
        assert!(debian.contains("update-ca-certificates"));
        assert!(text(Platform::Rhel).contains("update-ca-trust"));
        assert!(text(Platform::MacOs).contains("security add-trusted-cert -d -r trustRoot"));
        assert!(
            text(Platform::Windows).contains("certutil -addstore -f Root testlab-root-ca.root.crt")
        );
        assert!(text(Platform::Firefox).contains("\"Certificates\""));
        assert!(text(Platform::Java).contains("keytool -importcert"));
        assert!(text(Platform::Node).contains("NODE_EXTRA_CA_CERTS"));
        assert!(text(Platform::Python).contains("SSL_CERT_FILE"));
        assert!(text(Platform::Docker).contains("/etc/docker/certs.d/"));
        let k8s = text(Platform::Kubernetes);
        assert!(k8s.contains("apiVersion: trust.cert-manager.io/v1alpha1\nkind: Bundle"));
        assert!(
            k8s.contains("    - inLine: |\n        -----BEGIN CERTIFICATE-----\n        AAAA\n")
        );
        assert!(k8s.contains("  target:\n    configMap:\n      key: ca.crt"));
        assert!(k8s.contains("kind: ConfigMap\nmetadata:\n  name: testlab-root-ca\ndata:\n  ca.crt: |\n    -----BEGIN"));
        assert_eq!(file_for(Platform::Windows), FileKind::RootDer);
    }
}
