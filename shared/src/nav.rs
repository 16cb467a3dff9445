//! The console's pages: one table that the SPA's router and navigation, the server's
//! SPA fallback and the end-to-end tests all read, so a page cannot be added in one place
//! and forgotten in another.

/// One page of the single-page app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Route path, as in the address bar.
    pub path: &'static str,
    /// Label in the navigation.
    pub label: &'static str,
    /// The page's `<h1>`.
    pub heading: &'static str,
}

pub const OVERVIEW: Page = Page {
    path: "/",
    label: "Overview",
    heading: "PKI Console",
};
pub const SETUP: Page = Page {
    path: "/setup",
    label: "Setup",
    heading: "Setup wizard",
};
pub const REQUEST: Page = Page {
    path: "/request",
    label: "Request certificate",
    heading: "Request a certificate",
};
pub const CERTIFICATES: Page = Page {
    path: "/certificates",
    label: "Certificates",
    heading: "Issued certificates",
};
pub const KUBERNETES: Page = Page {
    path: "/kubernetes",
    label: "Kubernetes",
    heading: "Kubernetes certificates",
};
pub const TRUST: Page = Page {
    path: "/trust",
    label: "Trust",
    heading: "Trust the CA",
};
pub const SIGN_IN: Page = Page {
    path: "/sign-in",
    label: "Sign in",
    heading: "Sign in",
};
/// Shown for any path that is no page.
pub const NOT_FOUND_HEADING: &str = "Page not found";

/// Every page in navigation order.
pub const PAGES: [Page; 7] = [
    OVERVIEW,
    SETUP,
    REQUEST,
    CERTIFICATES,
    KUBERNETES,
    TRUST,
    SIGN_IN,
];

/// Path prefixes that belong to the server, never to the SPA: a miss under them is a 404,
/// not `index.html`.
pub const SERVER_PREFIXES: [&str; 6] =
    ["/v1/", "/api/", "/ca/", "/assets/", "/plugin/", "/healthz"];

/// Whether the server should answer `path` with the SPA's `index.html` when no file or
/// route matches: client routes do, server paths and anything that looks like a file
/// (has an extension in its last segment) do not.
pub fn is_spa_route(path: &str) -> bool {
    if !path.starts_with('/') {
        return false;
    }
    if SERVER_PREFIXES
        .iter()
        .any(|p| path.starts_with(p) || path == p.trim_end_matches('/'))
    {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or("");
    !last.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spa_routes_and_server_paths() {
        let cases = [
            ("/", true),
            ("/setup", true),
            ("/certificates/1a:2b", true),
            ("/no/such/page", true),
            ("/assets/app-1234.js", false),
            ("/assets/missing", false),
            ("/favicon.ico", false),
            ("/v1/sys/health", false),
            ("/v1", false),
            ("/api/session", false),
            ("/healthz", false),
            ("relative", false),
        ];
        for (path, want) in cases {
            assert_eq!(is_spa_route(path), want, "{path}");
        }
    }

    #[test]
    fn every_page_is_a_spa_route_with_a_unique_path() {
        for (i, p) in PAGES.iter().enumerate() {
            assert!(is_spa_route(p.path), "{}", p.path);
            assert!(
                PAGES[i + 1..].iter().all(|q| q.path != p.path),
                "duplicate {}",
                p.path
            );
        }
    }
}
